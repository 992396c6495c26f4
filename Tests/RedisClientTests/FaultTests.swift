import Testing

import RedisClient

/// Redis going away and coming back, with a `redis-server` child process the test owns.
@Suite("Faults (own redis-server)", .enabled("needs redis-server on PATH") { TestRedis.required || RedisServerProcess.binary != nil },
       .timeLimit(.minutes(2)))
struct FaultTests {
    @Test func killedServerFailsCallsPromptlyAndTheClientRecoversWhenItIsBack() async throws {
        let server = RedisServerProcess(port: try await RedisServerProcess.freePort())
        defer { server.kill() }
        try await server.start()
        try await withClient(server.configuration) { redis in
            try await redis.set("k", "before")
            let subscription = try await redis.subscribe(channel: "events")

            server.kill()
            // The first call may still find the old connection and see it drop mid-command;
            // soon every call fails with `unavailable`, each within the 5 s bound.
            var codes: [RedisError.Code] = []
            for _ in 0..<20 where codes.last != .unavailable {
                switch try await outcome({ try await redis.get("k") }) {
                case .success(let value): Issue.record("a call succeeded with Redis down: \(String(describing: value))")
                case .failure(let error): codes.append(error.code)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(codes.last == .unavailable)
            #expect(codes.allSatisfy { [.unavailable, .connectionClosed].contains($0) }, "\(codes)")
            await #expect(throws: RedisError.self) { try await redis.subscribe(channel: "while-down") }

            try await server.start()
            // The same client, with no help, works again (the server restarted empty).
            var recovered = false
            for _ in 0..<100 where !recovered {
                if case .success(nil) = try await outcome({ try await redis.get("k") }) { recovered = true }
                else { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(recovered)
            try await redis.set("k", "after")
            #expect(try await redis.get("k") == "after")

            // The subscription was renewed on a new connection.
            let delivered = try await within(.seconds(20)) {
                try await withThrowingTaskGroup(of: String?.self) { group in
                    group.addTask { await subscription.first { _ in true }?.string }
                    group.addTask {
                        while !Task.isCancelled {
                            _ = try? await redis.publish("back", to: "events")
                            try await Task.sleep(for: .milliseconds(100))
                        }
                        return nil
                    }
                    let first = try await group.next()!
                    group.cancelAll()
                    return first
                }
            }
            #expect(delivered == "back")
        }
    }

    /// A server that accepts connections but answers nothing (stopped with SIGSTOP): commands
    /// time out instead of hanging.
    @Test func frozenServerTimesOut() async throws {
        let server = RedisServerProcess(port: try await RedisServerProcess.freePort())
        defer { server.kill() }
        try await server.start()
        var configuration = server.configuration
        configuration.commandTimeout = .milliseconds(500)
        try await withClient(configuration) { redis in
            try await redis.set("k", "v")
            server.freeze()
            defer { server.thaw() }
            guard case .failure(let error) = try await outcome({ try await redis.get("k") }) else {
                Issue.record("a frozen server answered")
                return
            }
            #expect(error.code == .timeout)
            guard case .failure = try await outcome({ try await redis.get("k") }) else {
                Issue.record("a frozen server answered")
                return
            }
            server.thaw()
            var recovered = false
            for _ in 0..<100 where !recovered {
                if case .success("v") = try await outcome({ try await redis.get("k") }) { recovered = true }
                else { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(recovered)
        }
    }
}

/// A client pointed at a port nothing listens on: no server needed.
@Suite("Unreachable Redis", .timeLimit(.minutes(1)))
struct UnreachableRedisTests {
    @Test func callsFailPromptlyWhenRedisWasNeverThere() async throws {
        var configuration = RedisConfiguration(port: try await RedisServerProcess.freePort())
        configuration.connectTimeout = .seconds(1)
        try await withClient(configuration) { redis in
            for _ in 0..<3 {
                guard case .failure(let error) = try await outcome({ try await redis.get("k") }) else {
                    Issue.record("a call succeeded with nothing listening")
                    continue
                }
                #expect(error.code == .unavailable)
            }
            await #expect(throws: RedisError.self) { try await within(.seconds(5)) { try await redis.subscribe(channel: "c") } }
        }
    }
}
