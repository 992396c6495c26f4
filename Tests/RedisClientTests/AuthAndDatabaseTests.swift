import Testing

import RedisClient

@Suite("AUTH and SELECT (real Redis)", .timeLimit(.minutes(1)))
struct AuthAndDatabaseTests {
    @Test(.enabled("needs a Redis server at CHATTER_TEST_REDIS_URL") { await TestRedis.isAvailable() })
    func databasesAreIsolated() async throws {
        var first = try TestRedis.configuration()
        first.database = 1
        var second = first
        second.database = 2
        let key = TestRedis.key()
        try await withClient(first) { one in
            try await withClient(second) { two in
                try await one.set(key, "in db 1")
                #expect(try await two.get(key) == nil)
                try await two.set(key, "in db 2")
                #expect(try await one.get(key) == "in db 1")
                #expect(try await two.get(key) == "in db 2")
                #expect(try await one.send(["CLIENT", "INFO"]).string?.contains("db=1") == true)
                try await one.delete(key)
                try await two.delete(key)
            }
        }
    }

    @Test(.enabled("needs redis-server on PATH") { TestRedis.required || RedisServerProcess.binary != nil })
    func passwordAndACLUser() async throws {
        let arguments = ["--requirepass", "s3cret", "--user", "alice", "on", ">wonderland", "~*", "&*", "+@all"]
        try await withRedisServer(extraArguments: arguments) { server in
            var configuration = RedisServerProcess.patient(try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)/3"))
            configuration.reconnectMaximumDelay = .milliseconds(200)
            try await withClient(configuration) { redis in
                try await redis.set("k", "v")
                #expect(try await redis.get("k") == "v")
                #expect(try await redis.send(["ACL", "WHOAMI"]).string == "default")
            }

            let acl = RedisServerProcess.patient(try RedisConfiguration(url: "redis://alice:wonderland@127.0.0.1:\(server.port)/3"))
            try await withClient(acl) { redis in
                let user = try await redis.send(["ACL", "WHOAMI"])
                #expect(user.string == "alice")
                #expect(try await redis.get("k") == "v", "database 3 again")
            }

            // Without the password, commands are refused by Redis itself.
            try await withClient(RedisConfiguration(port: server.port)) { redis in
                await #expect {
                    try await redis.get("k")
                } throws: { error in
                    (error as? RedisError)?.serverErrorPrefix == "NOAUTH"
                }
            }

            // With a wrong one the handshake fails, so the client reports Redis unavailable,
            // promptly, with the reason underneath.
            let wrong = try RedisConfiguration(url: "redis://:nope@127.0.0.1:\(server.port)")
            try await withClient(wrong) { redis in
                let error = try await within(.seconds(5)) {
                    do {
                        _ = try await redis.get("k")
                        return RedisError?.none
                    } catch let error as RedisError {
                        return error
                    }
                }
                #expect(error?.code == .unavailable)
                #expect((error?.underlying as? RedisError)?.serverErrorPrefix == "WRONGPASS")
            }

            // A connection of its own gets the handshake's own error.
            await #expect {
                _ = try await RedisConnection.connect(configuration: wrong, logger: TestRedis.logger)
            } throws: { error in
                (error as? RedisError)?.serverErrorPrefix == "WRONGPASS"
            }
        }
    }
}
