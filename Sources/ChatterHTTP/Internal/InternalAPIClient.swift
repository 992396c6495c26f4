import ChatterCore
import Foundation
import HTTPTypes
import NIOCore
import ServiceClient
import Synchronization
import Telemetry

/// Calls one role's internal API (`/internal/v1/...`) on any of its instances: round robin,
/// the next instance when one cannot be reached, and the owner's errors passed on as the same
/// `ChatterError` (a 422 from messaging reaches the WebSocket client as that 422). An owner
/// that no instance answers for is a 503 `unavailable`, never a wrong answer.
public struct InternalAPIClient: Sendable {
    public let role: Role
    let endpoints: [ServiceEndpoint]
    let token: String
    let http: ServiceHTTPClient
    let timeout: Duration
    private let cursor: RoundRobinCursor

    public init(role: Role, endpoints: [ServiceEndpoint], token: String, http: ServiceHTTPClient, timeout: Duration = .seconds(5)) {
        self.role = role
        self.endpoints = endpoints
        self.token = token
        self.http = http
        self.timeout = timeout
        cursor = RoundRobinCursor()
    }

    /// Sends `body` as JSON and decodes the 2xx answer as `Answer`.
    public func call<Answer: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, body: some Encodable, as _: Answer.Type
    ) async throws -> Answer {
        try await perform(method, path, payload: ByteBuffer(bytes: try JSONEncoder().encode(body)))
    }

    /// A call without a body (GET).
    public func call<Answer: Decodable>(_ method: HTTPRequest.Method, _ path: String, as _: Answer.Type) async throws -> Answer {
        try await perform(method, path, payload: nil)
    }

    private func perform<Answer: Decodable>(_ method: HTTPRequest.Method, _ path: String, payload: ByteBuffer?) async throws -> Answer {
        var fields = HTTPFields()
        fields[InternalAPI.tokenHeader] = token
        fields[.accept] = "application/json"
        // The call joins the caller's trace: the owner's server span becomes its child.
        if let traceparent = TraceHeaders.currentTraceparent() { fields[HTTPField.Name("traceparent")!] = traceparent }
        if payload != nil { fields[.contentType] = "application/json" }
        let request = ServiceRequest(method: method, path: path, headerFields: fields, body: payload)
        let response = try await send(request)
        guard (200..<300).contains(response.status.code) else { throw error(from: response) }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(response.body.readableBytesView))
        } catch {
            throw ChatterError(.internalError, "internal error", detail: "unreadable answer from \(role) \(path): \(error)")
        }
    }

    private func send(_ request: ServiceRequest) async throws -> ServiceResponse {
        guard !endpoints.isEmpty else {
            throw ChatterError.unavailable(role.rawValue, detail: "no instances configured (CHATTER_UPSTREAM_\(role.rawValue.uppercased()))")
        }
        let start = cursor.next()
        var failures: [String] = []
        for offset in 0..<endpoints.count {
            let endpoint = endpoints[(start + offset) % endpoints.count]
            do {
                return try await http.execute(request, on: endpoint, timeout: timeout)
            } catch let error as ServiceClientError {
                failures.append("\(endpoint): \(error)")
                // Sent but unanswered: only a request that may run twice goes to another instance.
                if error.requestSent && !request.isIdempotent { break }
            }
        }
        throw ChatterError.unavailable(role.rawValue, detail: failures.joined(separator: "; "))
    }

    private func error(from response: ServiceResponse) -> ChatterError {
        let status = response.status.code
        let detail = ErrorBody.decode(response.body)
        if status >= 500 || status == 429 {
            return ChatterError.unavailable(role.rawValue, detail: "\(status): \(detail?.error.message ?? "")")
        }
        if status == 401 || status == 403 {
            // Our own token refused: a deployment whose CHATTER_INTERNAL_TOKEN differs.
            return ChatterError(.internalError, "internal error", detail: "\(role) refused the internal token (\(status))")
        }
        guard let detail else {
            return ChatterError(.internalError, "internal error", detail: "\(role) answered \(status) without an error body")
        }
        return ChatterError(.init(detail.error.code, status: status), detail.error.message)
    }
}

/// Where calls start, moved on every call, shared by copies of a client.
final class RoundRobinCursor: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int {
        value.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
    }
}

extension ErrorBody {
    static func decode(_ buffer: ByteBuffer) -> ErrorBody? {
        try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer.readableBytesView))
    }
}
