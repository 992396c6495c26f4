import ChatterCore
import ChatterHTTP
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// One dependency `/readyz` asks about.
struct ReadinessCheck: Sendable {
    var name: String
    var check: @Sendable () async throws -> Void
}

/// `/healthz`, `/readyz` and `/openapi.yaml`: no token needed.
struct OperationsRoutes: Sendable {
    let checks: [ReadinessCheck]
    let openAPIDocument: ByteBuffer
    let asyncAPIDocument: ByteBuffer

    struct Health: Encodable, Sendable {
        var status: String
        var checks: [String: String]?
    }

    struct NotReady: Encodable, Sendable {
        var error: ErrorBody.Detail
        var checks: [String: String]
    }

    func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONBody(Health(status: "ok"))
        }
        router.get("/readyz") { _, context in
            var failing: [String] = []
            var checks: [String: String] = [:]
            for dependency in self.checks {
                do {
                    try await withTimeout(.seconds(2)) { try await dependency.check() }
                    checks[dependency.name] = "ok"
                } catch {
                    context.logger.warning("readiness check failed", metadata: [
                        "dependency": .string(dependency.name), LoggingKeys.errorDetail: "\(error)"])
                    checks[dependency.name] = "unavailable"
                    failing.append(dependency.name)
                }
            }
            if failing.isEmpty {
                return try Response.json(Health(status: "ok", checks: checks))
            }
            return try Response.json(
                NotReady(error: .init(code: ChatterError.Code.unavailable.rawValue, message: "not ready: \(failing.joined(separator: ", ")) unavailable"),
                         checks: checks),
                status: .serviceUnavailable)
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: openAPIDocument))
        }
        router.get("/asyncapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: asyncAPIDocument))
        }
    }

    /// A document shipped as a resource of this module (`openapi`, `asyncapi`), served byte for byte.
    static func loadDocument(_ name: String) throws -> ByteBuffer {
        guard let url = Bundle.module.url(forResource: name, withExtension: "yaml") else {
            throw ChatterError(.internalError, "\(name).yaml missing", detail: "resource not found in bundle")
        }
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }
}

/// Runs `body`, failing with `CancellationError` if it takes longer than `duration`.
func withTimeout<T: Sendable>(_ duration: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw CancellationError()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
