import Testing

import RedisClient

@Suite("Pipelining (real Redis)", .enabled("needs a Redis server at CHATTER_TEST_REDIS_URL") { await TestRedis.isAvailable() },
       .timeLimit(.minutes(1)))
struct PipeliningIntegrationTests {
    /// 1000 commands in flight at once on one connection: every reply reaches its own caller.
    @Test func thousandConcurrentCommandsOnOneConnection() async throws {
        let connection = try await RedisConnection.connect(configuration: TestRedis.configuration(), logger: TestRedis.logger)
        let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    let payload = "payload-\(index)-" + String(repeating: "x", count: index % 37)
                    return try await connection.send(["ECHO", payload]).string == payload
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 0 : 1) }
        }
        #expect(mismatches == 0)
        #expect(connection.isUsable)
        await connection.close()
        #expect(!connection.isUsable)
    }

    /// 1000 concurrent callers through a pool of 4 connections.
    @Test func thousandConcurrentCallersThroughThePool() async throws {
        var configuration = try TestRedis.configuration()
        configuration.maximumConnections = 4
        configuration.connectionRequestTimeout = .seconds(20)
        try await withClient(configuration) { redis in
            let prefix = TestRedis.key()
            let counter = prefix + ":counter"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        try await redis.set("\(prefix):\(index)", "\(index)")
                        _ = try await redis.incr(counter)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.get(counter) == "1000")
            let values = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<1000 {
                    group.addTask { try await redis.get("\(prefix):\(index)") == "\(index)" }
                }
                return try await group.reduce(true) { $0 && $1 }
            }
            #expect(values)
            for start in stride(from: 0, to: 1000, by: 250) {
                let keys = (start..<start + 250).map { "\(prefix):\($0)" }
                _ = try await redis.send(["DEL"] + keys)
            }
            try await redis.delete(counter)
        }
    }
}
