import ChatterCore
import Foundation
import Logging
import RedisCache
import RedisClient
import Testing

/// A revocation list under test, and how to clean up after it.
struct RevocationBackend: Sendable, CustomTestStringConvertible {
    var name: String
    var run: @Sendable (@Sendable (any RevocationList) async throws -> Void) async throws -> Void
    var testDescription: String { name }

    static let memory = RevocationBackend(name: "memory") { body in try await body(InMemoryRevocationList()) }

    /// Redis at `CHATTER_TEST_REDIS_URL`; the test script starts one and sets
    /// `CHATTER_REQUIRE_SERVICES=1`, which makes this backend mandatory.
    static let redis = RevocationBackend(name: "redis") { body in
        try await withTestRedis { client in
            // A fresh key space per test, so runs never see each other's sessions.
            try await body(RedisRevocationList(redis: client, prefix: "chatter-test:\(UUID().uuidString):"))
        }
    }

    static var redisEnabled: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["CHATTER_REQUIRE_SERVICES"] == "1" || env["CHATTER_TEST_REDIS_URL"] != nil
    }

    static var all: [RevocationBackend] { redisEnabled ? [.memory, .redis] : [.memory] }
}

/// A running client of the Redis at `CHATTER_TEST_REDIS_URL` for `body`, stopped afterwards.
/// Timeouts are generous, so a loaded machine is not mistaken for an outage.
func withTestRedis(_ body: @Sendable (RedisClient) async throws -> Void) async throws {
    let url = ProcessInfo.processInfo.environment["CHATTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"
    let logger = Logger(label: "cache-contract", factory: { _ in SwiftLogNoOpLogHandler() })
    var configuration = try RedisConfiguration(url: url)
    configuration.connectTimeout = .seconds(10)
    configuration.connectionRequestTimeout = .seconds(10)
    configuration.commandTimeout = .seconds(10)
    let client = try RedisClient(configuration: configuration, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await body(client)
    }
}

@Suite struct RevocationListContract {
    @Test(arguments: RevocationBackend.all)
    func revokedSessionsStayRevokedUntilTheirTokensExpire(_ backend: RevocationBackend) async throws {
        try await backend.run { list in
            let now = Timestamp.now()
            #expect(try await !list.isRevoked(sessionID: "s1", now: now))
            try await list.revoke(sessionID: "s1", until: now.adding(seconds: 60))
            #expect(try await list.isRevoked(sessionID: "s1", now: now))
            #expect(try await !list.isRevoked(sessionID: "s2", now: now), "only that session")
            #expect(try await !list.isRevoked(sessionID: "s1", now: now.adding(seconds: 61)), "forgotten once its tokens expired")
        }
    }

    /// The socket sweep's question: which of these sessions are revoked, in one call (more
    /// sessions than one Redis `MGET` carries, to cross its chunks).
    @Test(arguments: RevocationBackend.all)
    func revokedAmongManyNamesExactlyTheRevokedOnes(_ backend: RevocationBackend) async throws {
        try await backend.run { list in
            let now = Timestamp.now()
            let sessions = (0..<1_100).map { "many-\($0)" }
            for index in [0, 511, 512, 1_099] { try await list.revoke(sessionID: sessions[index], until: now.adding(seconds: 60)) }
            try await list.revoke(sessionID: sessions[7], until: now.adding(seconds: 5))
            #expect(try await list.revoked(among: sessions, now: now) == [sessions[0], sessions[7], sessions[511], sessions[512], sessions[1_099]])
            #expect(try await list.revoked(among: sessions, now: now.adding(seconds: 6)) == [sessions[0], sessions[511], sessions[512], sessions[1_099]],
                    "one whose tokens have expired is no longer named")
            #expect(try await list.revoked(among: [], now: now).isEmpty)
        }
    }

    @Test(arguments: RevocationBackend.all)
    func aRevocationInThePastIsANoOp(_ backend: RevocationBackend) async throws {
        try await backend.run { list in
            let now = Timestamp.now()
            try await list.revoke(sessionID: "old", until: now.adding(seconds: -1))
            #expect(try await !list.isRevoked(sessionID: "old", now: now))
        }
    }

    @Test(arguments: RevocationBackend.all)
    func entriesExpireOnTheirOwn(_ backend: RevocationBackend) async throws {
        try await backend.run { list in
            let now = Timestamp.now()
            // Seconds of margin: a loaded machine may take a while between the calls.
            try await list.revoke(sessionID: "short", until: now.adding(seconds: 4))
            #expect(try await list.isRevoked(sessionID: "short", now: now))
            try await Task.sleep(for: .milliseconds(4500))
            #expect(try await !list.isRevoked(sessionID: "short", now: .now()))
        }
    }
}

@Suite struct RedisRevocationListFailures {
    @Test func anUnreachableRedisIsA503NotANotRevoked() async throws {
        let logger = Logger(label: "revocation-contract", factory: { _ in SwiftLogNoOpLogHandler() })
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1")  // nothing listens on port 1
        configuration.connectTimeout = .milliseconds(500)
        configuration.connectionRequestTimeout = .milliseconds(500)
        let client = try RedisClient(configuration: configuration, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let list = RedisRevocationList(redis: client)
            do {
                _ = try await list.isRevoked(sessionID: "s", now: .now())
                Issue.record("expected an error")
            } catch let error as ChatterError {
                #expect(error.code == .unavailable)
            }
        }
    }
}
