import Testing

@testable import RedisClient

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaults() throws {
        let configuration = RedisConfiguration()
        #expect(configuration.host == "127.0.0.1" && configuration.port == 6379 && configuration.database == 0)
        #expect(configuration.password == nil && configuration.username == nil)
        #expect(configuration.maximumConnections == 8)
        #expect(configuration.commandTimeout == .seconds(2) && configuration.connectionRequestTimeout == .seconds(2))
        try configuration.validate()
    }

    @Test func urlForms() throws {
        let plain = try RedisConfiguration(url: "redis://cache.internal")
        #expect(plain.host == "cache.internal" && plain.port == 6379 && plain.database == 0 && plain.password == nil)

        let full = try RedisConfiguration(url: "redis://:s3cret@10.0.0.5:6380/2")
        #expect(full.host == "10.0.0.5" && full.port == 6380 && full.database == 2)
        #expect(full.username == nil && full.password == "s3cret")

        let acl = try RedisConfiguration(url: "REDIS://alice:p%40ss%3Aword@localhost:7000/")
        #expect(acl.username == "alice" && acl.password == "p@ss:word" && acl.port == 7000 && acl.database == 0)

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6390/15")
        #expect(ipv6.host == "::1" && ipv6.port == 6390 && ipv6.database == 15)

        let emptyPassword = try RedisConfiguration(url: "redis://:@localhost")
        #expect(emptyPassword.password == "")
    }

    @Test(arguments: [
        "localhost:6379", "http://localhost", "rediss://localhost", "redis://", "redis://host:0",
        "redis://host:65536", "redis://host:port", "redis://host/db", "redis://host/-1", "redis://host?timeout=1",
        "redis://secret@host", "redis://:%zz@host", "redis://[::1", "redis://host:", "redis://host/1/2",
    ])
    func badURLsAreRejected(_ url: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            (error as? RedisError)?.code == .invalidConfiguration
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:topsecret@cache:6380/3")
        #expect(configuration.description == "redis://alice:***@cache:6380/3")
    }

    @Test func invalidSettingsAreRejected() {
        var configuration = RedisConfiguration()
        configuration.maximumConnections = 0
        #expect(throws: RedisError.self) { try configuration.validate() }
        configuration = RedisConfiguration()
        configuration.commandTimeout = .zero
        #expect(throws: RedisError.self) { try configuration.validate() }
    }
}
