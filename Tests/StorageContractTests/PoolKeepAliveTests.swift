import ChatterCore
import PostgresNIO
import Testing

@testable import PostgresStorage

/// The pool's keep-alive: a `SELECT 1` over the pooled connections, on its own every interval.
@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CHATTER_TEST_DATABASE_URL (scripts/test starts PostgreSQL)"))
struct PoolKeepAliveTests {
    @Test func oneRoundPingsThePoolsConnections() async throws {
        try await withPostgresDatabase { database in
            // A fixed pool of five: make sure all five are open, each last used for something else.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await database.store.withConnection { connection in
                            _ = try await connection.rows("SELECT pg_sleep(0.2)", logger: PostgresTestDatabase.logger)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let before = try await database.lastStatements()
            #expect(before.values.filter { $0 == "SELECT 1" }.isEmpty)
            await PoolKeepAlive(interval: .seconds(3600), connections: 5).pingEachConnection(database.store)
            let pinged = try await database.lastStatements().values.filter { $0 == "SELECT 1" }
            // Usually all five; how the pool hands out idle connections is its business.
            #expect(pinged.count >= 1, "the round reached the pool")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theStorePingsItsIdlePoolOnItsOwn() async throws {
        try await withPostgresDatabase(keepAliveInterval: .milliseconds(100)) { database in
            while try await database.lastStatements().values.contains("SELECT 1") == false {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
