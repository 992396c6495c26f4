import Foundation
import Logging
import RedisClient

/// The Redis server the integration tests use: `CHATTER_TEST_REDIS_URL`, by default
/// `redis://127.0.0.1:6379`. Tests that need it are skipped when nothing answers there.
enum TestRedis {
    /// Set (`CHATTER_REQUIRE_SERVICES=1`) by the test script, which starts the services itself.
    static let required = ProcessInfo.processInfo.environment["CHATTER_REQUIRE_SERVICES"] == "1"

    static let url = ProcessInfo.processInfo.environment["CHATTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    static let logger: Logger = {
        var logger = Logger(label: "redis-client-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The server's configuration. Timeouts are generous: on a loaded machine (a build running
    /// next to the tests) a connect can take seconds, and a timeout there would read as an
    /// outage. Tests of timeouts set their own.
    static func configuration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectTimeout = .seconds(10)
        configuration.commandTimeout = .seconds(10)
        configuration.connectionRequestTimeout = .seconds(10)
        return configuration
    }

    /// Whether a server answers `PING` at ``url``; the `.enabled(if:)` condition of the tests.
    static func isAvailable() async -> Bool {
        // The test script sets this after starting Redis: from then on a missing server is a
        // failure, not a skip.
        if required { return true }
        guard var configuration = try? configuration() else { return false }
        configuration.connectTimeout = .seconds(1)
        configuration.commandTimeout = .seconds(1)
        return await answersPing(configuration)
    }

    static func answersPing(_ configuration: RedisConfiguration) async -> Bool {
        guard let connection = try? await RedisConnection.connect(configuration: configuration, logger: logger) else {
            return false
        }
        let reply = try? await connection.send(["PING"])
        await connection.close()
        return reply?.string == "PONG"
    }

    /// A key no other test uses.
    static func key(_ name: String = #function) -> String {
        "chatter-test:\(name):\(UUID().uuidString)"
    }
}

/// Runs `body` with a client whose `run()` goes on in the background, then shuts it down.
@discardableResult
func withClient<T: Sendable>(
    _ configuration: RedisConfiguration, _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = try RedisClient(configuration: configuration, logger: TestRedis.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        do {
            let result = try await body(client)
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// The value of `operation`, or a failure if it takes longer than `limit`: how the tests check
/// "fails promptly, never hangs" without asserting on exact timings.
func within<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        guard let value = first else { throw HangError(limit: limit) }
        return value
    }
}

/// What a call ended with, its value or its ``RedisError``; it must end within 5 s.
func outcome(_ call: @escaping @Sendable () async throws -> String?) async throws -> Result<String?, RedisError> {
    try await within(.seconds(5)) {
        do {
            return .success(try await call())
        } catch let error as RedisError {
            return .failure(error)
        }
    }
}

struct HangError: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "still running after \(limit)" }
}
