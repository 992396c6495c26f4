import ChatterCore
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import PostgresStorage

/// A database of its own for one test on the server in `CHATTER_TEST_DATABASE_URL`: created
/// empty, migrated, served by a running `PostgresStore`, dropped by `drop()`.
struct PostgresTestDatabase: Sendable {
    static let urlKey = "CHATTER_TEST_DATABASE_URL"
    static var url: String? { ProcessInfo.processInfo.environment[urlKey].flatMap { $0.isEmpty ? nil : $0 } }
    /// `CHATTER_REQUIRE_SERVICES=1` (the test script): a missing server fails the tests instead
    /// of skipping them.
    static var required: Bool { ProcessInfo.processInfo.environment["CHATTER_REQUIRE_SERVICES"] == "1" }
    /// Whether PostgreSQL tests run: a URL is set, or services are required (then a missing
    /// URL fails them instead of skipping).
    static var enabled: Bool { url != nil || required }

    static let logger = Logger(label: "postgres-test", factory: { _ in SwiftLogNoOpLogHandler() })

    let name: String
    let base: PostgresConfiguration
    let store: PostgresStore
    let runner: Task<Void, any Error>

    static func baseConfiguration() throws -> PostgresConfiguration {
        guard let url else {
            throw ChatterError(.unavailable, "\(urlKey) is not set but CHATTER_REQUIRE_SERVICES=1 requires PostgreSQL")
        }
        var configuration = try PostgresConfiguration(url: url)
        configuration.tls = .disable
        return configuration
    }

    /// Creates, migrates and starts serving a fresh database.
    static func create(acquireTimeout: Duration = .seconds(5), maximumConnections: Int = 5, migrate: Bool = true,
                       keepAliveInterval: Duration? = nil) async throws -> PostgresTestDatabase {
        let base = try baseConfiguration()
        let name = "chatter_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin(base) { _ = try await $0.query("CREATE DATABASE \(unescaped: name)", logger: logger).collect() }
        var configuration = base
        configuration.database = name
        configuration.acquireTimeout = acquireTimeout
        configuration.maximumConnections = maximumConnections
        configuration.keepAliveInterval = keepAliveInterval
        let store = PostgresStore(configuration: configuration, logger: logger)
        let runner = Task { try await store.run() }
        let database = PostgresTestDatabase(name: name, base: base, store: store, runner: runner)
        if migrate {
            do { try await database.migrate() } catch {
                await database.drop()
                throw error
            }
        }
        return database
    }

    /// Migrates, retrying while the first connection takes longer than a short acquire
    /// timeout (a loaded test machine runs every suite at once).
    func migrate() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await store.migrate()
            } catch let error as ChatterError where error.code == .unavailable && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Stops the store and drops the database.
    func drop() async {
        runner.cancel()
        _ = try? await runner.value
        try? await Self.admin(base) {
            _ = try await $0.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: Self.logger).collect()
        }
    }

    /// The last statement of each of this database's server processes, by backend pid, asked
    /// over a connection of its own.
    func lastStatements() async throws -> [Int32: String] {
        var statements: [Int32: String] = [:]
        try await Self.admin(base) { connection in
            for try await (pid, query) in try await connection.query(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = \(name)", logger: Self.logger
            ).decode((Int32, String).self) {
                statements[pid] = query
            }
        }
        return statements
    }

    /// Runs `body` on a connection of its own to the base database.
    static func admin(_ base: PostgresConfiguration, _ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: base.host, port: base.port, username: base.username, password: base.password,
                                 database: base.database, tls: .disable),
            id: 1, logger: logger)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

/// Runs `body` against a database of its own and always drops it.
func withPostgresDatabase(acquireTimeout: Duration = .seconds(5), migrate: Bool = true, keepAliveInterval: Duration? = nil,
                          _ body: (PostgresTestDatabase) async throws -> Void) async throws {
    try await using(try await PostgresTestDatabase.create(acquireTimeout: acquireTimeout, migrate: migrate,
                                                          keepAliveInterval: keepAliveInterval), body,
                    cleanup: { await $0.drop() })
}
