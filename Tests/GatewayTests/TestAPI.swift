import ChatterCore
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A response with its body parsed as JSON, for terse assertions.
struct APIResult: @unchecked Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String
    var json: [String: Any]

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    subscript(key: String) -> Any? { json[key] }
    func string(_ key: String) -> String? { json[key] as? String }
    func object(_ key: String) -> [String: Any] { json[key] as? [String: Any] ?? [:] }
    func array(_ key: String) -> [[String: Any]] { json[key] as? [[String: Any]] ?? [] }
}

/// Drives the router with JSON bodies and bearer tokens.
struct TestAPI: Sendable {
    let client: any TestClientProtocol

    /// The live server's port (only with `withApp(live: true)`).
    var port: Int { client.port ?? 0 }

    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: Any? = nil, rawBody: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> APIResult {
        var headers = headers
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        } else if let rawBody {
            body = ByteBuffer(string: rawBody)
        }
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        let text = String(buffer: response.body)
        let parsed = JSONValue.object(from: text)
        return APIResult(status: response.status, headers: response.headers, text: text, json: parsed)
    }

    /// Registers a user and returns (user id, access token, refresh token).
    func register(_ username: String, password: String = "correct horse") async throws -> (id: String, token: String, refresh: String) {
        let result = try await call(.post, "/v1/auth/register", json: ["username": username, "password": password])
        try #require(result.status == .created, "register \(username): \(result.text)")
        return (result.object("user")["id"] as! String, result.string("access_token")!, result.string("refresh_token")!)
    }

    func createGroup(_ token: String, title: String = "Team", members: [String]) async throws -> String {
        let result = try await call(.post, "/v1/chats", token: token, json: ["type": "group", "title": title, "member_ids": members])
        try #require(result.status == .created, "create group: \(result.text)")
        return result.string("id")!
    }

    func send(_ token: String, _ chatID: String, _ body: String, clientID: String = UUID().uuidString) async throws -> APIResult {
        try await call(.post, "/v1/chats/\(chatID)/messages", token: token, json: ["body": body, "client_msg_id": clientID])
    }
}

/// Builds the real application on a fresh (or given) data directory and runs `body` against
/// its router, services included.
func withApp(
    dataDirectory: String? = nil, live: Bool = false, configure: (inout ChatterConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (TestAPI) async throws -> Void
) async throws {
    let directory = dataDirectory
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("chatter-gateway-\(UUID().uuidString)").path
    var configuration = ChatterConfiguration()
    configuration.dataDirectory = directory
    configure(&configuration)
    let app = try await buildApplication(
        configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    defer { if dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
    try await app.test(live ? .live : .router) { client in
        try await body(TestAPI(client: client))
    }
}
