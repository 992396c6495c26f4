import Testing

import RedisClient

@Suite("Lua scripts (real Redis)", .enabled("needs a Redis server at CHATTER_TEST_REDIS_URL") { await TestRedis.isAvailable() },
       .timeLimit(.minutes(1)))
struct ScriptIntegrationTests {
    static let incrementWithCap = RedisScript("""
        local value = redis.call('INCRBY', KEYS[1], ARGV[1])
        if value > tonumber(ARGV[2]) then
            redis.call('SET', KEYS[1], ARGV[2])
            return tonumber(ARGV[2])
        end
        return value
        """)

    /// After `SCRIPT FLUSH`, `EVALSHA` gets `NOSCRIPT`; the client falls back to `EVAL`, which
    /// caches the script, so the next call runs by digest.
    @Test func evalShaFallsBackToEvalAfterNoScript() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let script = Self.incrementWithCap
            let key = TestRedis.key()
            _ = try await redis.send(["SCRIPT", "FLUSH"])
            #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(0)]))

            #expect(try await redis.evalScript(script, keys: [key], args: ["7", "10"]) == .integer(7))
            #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
            #expect(try await redis.evalScript(script, keys: [key], args: ["7", "10"]) == .integer(10))

            // The digest is the one Redis computes itself.
            #expect(try await redis.send(["SCRIPT", "LOAD", script.source]).string == script.sha1)
            try await redis.delete(key)
        }
    }

    @Test func scriptErrorsAreServerErrors() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            await #expect {
                try await redis.evalScript(RedisScript("return redis.call('NOSUCH')"))
            } throws: { error in
                (error as? RedisError)?.code == .serverError
            }
            let reply = try await redis.evalScript(RedisScript("return {ARGV[1], 2}"), args: ["one"])
            #expect(reply == .array([.bulkString("one"), .integer(2)]))
        }
    }
}
