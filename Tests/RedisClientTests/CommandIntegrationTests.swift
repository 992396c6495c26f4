import Testing

import RedisClient

/// Commands against the real server at `CHATTER_TEST_REDIS_URL`.
@Suite("Commands (real Redis)", .enabled("needs a Redis server at CHATTER_TEST_REDIS_URL") { await TestRedis.isAvailable() },
       .timeLimit(.minutes(1)))
struct CommandIntegrationTests {
    @Test func getSetDeleteExists() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let key = TestRedis.key()
            #expect(try await redis.get(key) == nil)
            #expect(try await !redis.exists(key))
            try await redis.set(key, "héllo wörld")
            #expect(try await redis.get(key) == "héllo wörld")
            #expect(try await redis.exists(key))
            #expect(try await redis.delete(key, TestRedis.key("other")) == 1)
            #expect(try await redis.get(key) == nil)
        }
    }

    @Test func expiry() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let key = TestRedis.key()
            try await redis.set(key, "v", expiresIn: .milliseconds(1500))
            // -2 would mean already expired (a very slow machine); -1 would mean no expiry at all.
            let ttl = try await redis.send(["PTTL", key]).integer ?? -1
            #expect(ttl == -2 || (ttl > 0 && ttl <= 1500))
            // Gone within a generous bound.
            var gone = false
            for _ in 0..<100 where !gone {
                try await Task.sleep(for: .milliseconds(100))
                gone = try await redis.get(key) == nil
            }
            #expect(gone)

            let other = TestRedis.key("expire")
            #expect(try await !redis.expire(other, in: .seconds(10)))
            try await redis.set(other, "v")
            #expect(try await redis.expire(other, in: .seconds(10)))
            #expect(try await (redis.send(["PTTL", other]).integer ?? 0) > 1000)
            try await redis.delete(other)
        }
    }

    @Test func setIfAbsentAndIncr() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let key = TestRedis.key()
            #expect(try await redis.setIfAbsent(key, "first", expiresIn: .seconds(30)))
            #expect(try await !redis.setIfAbsent(key, "second"))
            #expect(try await redis.get(key) == "first")

            let counter = TestRedis.key("counter")
            #expect(try await redis.incr(counter) == 1)
            #expect(try await redis.incr(counter, by: 41) == 42)
            #expect(try await redis.incr(counter, by: -2) == 40)
            try await redis.delete(key, counter)
        }
    }

    @Test func serverErrorsAreThrownAndTheConnectionStaysUsable() async throws {
        var configuration = try TestRedis.configuration()
        configuration.maximumConnections = 1
        try await withClient(configuration) { redis in
            let key = TestRedis.key()
            try await redis.set(key, "text")
            await #expect {
                try await redis.incr(key)
            } throws: { error in
                (error as? RedisError)?.code == .serverError && (error as? RedisError)?.serverErrorPrefix == "ERR"
            }
            await #expect(throws: RedisError.self) { try await redis.send(["NOSUCHCOMMAND"]) }
            #expect(try await redis.get(key) == "text")
            await #expect(throws: RedisError.self) { try await redis.set(key, "v", expiresIn: .zero) }
            try await redis.delete(key)
        }
    }

    @Test func genericSendReturnsRawReplies() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let key = TestRedis.key()
            _ = try await redis.send(["RPUSH", key, "a", "b", "c"])
            let list = try await redis.send(["LRANGE", key, "0", "-1"])
            #expect(list == .array([.bulkString("a"), .bulkString("b"), .bulkString("c")]))
            #expect(try await redis.send(["PING"]) == .simpleString("PONG"))
            try await redis.delete(key)
        }
    }

    @Test func commandTimeoutFailsPromptlyAndTheClientRecovers() async throws {
        var configuration = try TestRedis.configuration()
        configuration.commandTimeout = .milliseconds(300)
        configuration.maximumConnections = 1
        try await withClient(configuration) { redis in
            let key = TestRedis.key()
            // BLPOP on an empty list blocks for 10 s, far beyond the command timeout.
            let error = try await within(.seconds(5)) {
                do {
                    _ = try await redis.send(["BLPOP", key, "10"])
                    return RedisError.Code?.none
                } catch let error as RedisError {
                    return error.code
                }
            }
            #expect(error == .timeout)
            // The timed-out connection was closed; a later command gets a fresh one. On a loaded
            // machine the reconnect plus PING can itself exceed the 300 ms timeout, so the client
            // gets a few seconds to recover; what must not happen is that it never does.
            let deadline = ContinuousClock.now + .seconds(5)
            var pong: RESPValue?
            while pong == nil, ContinuousClock.now < deadline {
                pong = try? await redis.send(["PING"])
            }
            #expect(pong == .simpleString("PONG"))
        }
    }
}
