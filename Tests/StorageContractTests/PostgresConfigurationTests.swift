import Testing

@testable import PostgresStorage

/// `CHATTER_DATABASE_URL` and its pool options.
@Suite struct PostgresConfigurationTests {
    @Test func poolOptionsComeFromTheQuery() throws {
        let plain = try PostgresConfiguration(url: "postgres://chatter:secret@db.internal:6432/messages")
        #expect(plain.host == "db.internal")
        #expect(plain.port == 6432)
        #expect(plain.database == "messages")
        #expect(plain.maximumConnections == 20)
        #expect(plain.minimumConnections == nil)
        #expect(plain.effectiveMinimumConnections == 20, "a fixed-size pool unless pool_min says otherwise")
        #expect(plain.acquireTimeout == .seconds(5))
        #expect(plain.keepAliveInterval == .seconds(30))
        #expect(try PostgresConfiguration(url: "postgres://u@h/d?keepalive_s=5").keepAliveInterval == .seconds(5))
        #expect(try PostgresConfiguration(url: "postgres://u@h/d?keepalive_s=0").keepAliveInterval == nil, "0 turns it off")
        let tuned = try PostgresConfiguration(url: "postgres://u@h/d?sslmode=disable&pool_size=50&pool_min=10&acquire_timeout_ms=250")
        #expect(tuned.maximumConnections == 50)
        #expect(tuned.effectiveMinimumConnections == 10)
        let capped = try PostgresConfiguration(url: "postgres://u@h/d?pool_size=5&pool_min=9")
        #expect(capped.effectiveMinimumConnections == 5)
        #expect(tuned.acquireTimeout == .milliseconds(250))
        let none = try PostgresConfiguration(url: "postgres://u@h/d?pool_min=0&pool_size=-3")
        #expect(none.effectiveMinimumConnections == 0)
        #expect(none.maximumConnections == 20)
    }

    @Test func aURLThatIsNotPostgresIsRefused() {
        #expect(throws: (any Error).self) { try PostgresConfiguration(url: "mysql://u@h/d") }
        #expect(throws: (any Error).self) { try PostgresConfiguration(url: "postgres:///d") }
    }
}
