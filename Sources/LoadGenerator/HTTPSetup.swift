import Foundation
import HTTPTypes
import NIOCore
import ServiceClient

/// The few REST calls a load run needs to set itself up (accounts and group chats) and to check
/// its verdict (history).
///
/// On Chatter's own HTTP client: every call has a deadline, so a run cannot hang on a request
/// that is never answered (URLSession on Linux once left a benchmark waiting for 11 minutes
/// with the responses sitting unread in its sockets). A 503 (the server is overloaded or a
/// dependency is down) or a request that never left is retried a few times, as a client would.
struct HTTPSetup: Sendable {
    let baseURL: String
    private let endpoint: ServiceEndpoint?
    private let client: ServiceHTTPClient

    /// How long a call keeps retrying 503s and requests that never left (a dependency
    /// restarting takes a few seconds).
    static let retryBudget: Duration = .seconds(30)

    init(baseURL: String) {
        self.baseURL = baseURL
        endpoint = try? ServiceEndpoint(url: baseURL)
        var configuration = ServiceHTTPClient.Configuration()
        configuration.connectTimeout = .seconds(5)
        configuration.requestTimeout = .seconds(30)
        client = ServiceHTTPClient(configuration: configuration)
    }

    struct Account: Sendable {
        var userID: String
        var token: String
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    func register(username: String) async throws -> Account {
        let credentials = ["username": username, "password": "load-test-password"]
        let (status, data, retried) = try await call(.post, "/v1/auth/register", body: try JSONSerialization.data(withJSONObject: credentials), token: nil)
        let json: [String: Any]
        if status == 409, retried {
            // An earlier attempt created the account but its answer was lost: log in instead.
            json = try await post("/v1/auth/login", credentials, token: nil, expect: 200)
        } else {
            guard status == 201 else {
                throw SetupError(description: "POST /v1/auth/register answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
            }
            json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }
        guard let token = json["access_token"] as? String, let user = json["user"] as? [String: Any], let id = user["id"] as? String else {
            throw SetupError(description: "register \(username): unexpected response")
        }
        return Account(userID: id, token: token)
    }

    func createGroup(owner: Account, title: String, members: [String]) async throws -> String {
        let json = try await post("/v1/chats", ["type": "group", "title": title, "member_ids": members], token: owner.token, expect: 201)
        guard let id = json["id"] as? String else { throw SetupError(description: "create chat: no id") }
        return id
    }

    func history(chatID: String, afterSeq: Int64, token: String) async throws -> (seqs: [Int64], hasMore: Bool) {
        let (status, data, _) = try await call(.get, "/v1/chats/\(chatID)/messages?after_seq=\(afterSeq)&limit=200", body: nil, token: token)
        guard status == 200,
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let messages = json["messages"] as? [[String: Any]]
        else { throw SetupError(description: "history of \(chatID) failed") }
        return (messages.compactMap { ($0["seq"] as? NSNumber)?.int64Value }, json["has_more"] as? Bool ?? false)
    }

    /// Every seq in the chat's history, paging forward.
    func allSeqs(chatID: String, token: String) async throws -> Set<Int64> {
        var seqs = Set<Int64>()
        var after: Int64 = 0
        while true {
            let page = try await history(chatID: chatID, afterSeq: after, token: token)
            seqs.formUnion(page.seqs)
            guard page.hasMore, let last = page.seqs.max(), last > after else { return seqs }
            after = last
        }
    }

    private func post(_ path: String, _ body: [String: Any], token: String?, expect status: Int) async throws -> [String: Any] {
        let (code, data, _) = try await call(.post, path, body: try JSONSerialization.data(withJSONObject: body), token: token)
        guard code == status else {
            throw SetupError(description: "POST \(path) answered \(code): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// The status and body, and whether the request had to be retried.
    private func call(_ method: HTTPRequest.Method, _ path: String, body: Data?, token: String?) async throws -> (Int, Data, Bool) {
        guard let endpoint else { throw SetupError(description: "bad URL \(baseURL)") }
        var headers = HTTPFields()
        if body != nil { headers[.contentType] = "application/json" }
        if let token { headers[.authorization] = "Bearer \(token)" }
        let request = ServiceRequest(method: method, path: path, headerFields: headers, body: body.map { ByteBuffer(bytes: $0) })
        let deadline = ContinuousClock.now + Self.retryBudget
        var delay = Duration.milliseconds(200)
        var retried = false
        while true {
            do {
                let response = try await client.execute(request, on: endpoint)
                guard response.status.code == 503, ContinuousClock.now + delay < deadline else {
                    return (response.status.code, Data(response.body.readableBytesView), retried)
                }
            } catch let error as ServiceClientError where !error.requestSent && ContinuousClock.now + delay < deadline {
                // Not sent: nothing happened on the server, so any request may go again.
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
            retried = true
        }
    }
}
