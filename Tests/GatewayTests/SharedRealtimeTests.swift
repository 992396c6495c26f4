import ChatterCore
import Foundation
import Testing

enum SharedRedis {
    static var url: String? { ProcessInfo.processInfo.environment["CHATTER_TEST_REDIS_URL"] }
    /// With `CHATTER_REQUIRE_SERVICES=1` a missing Redis fails the test instead of skipping it.
    static var enabled: Bool { url != nil || ProcessInfo.processInfo.environment["CHATTER_REQUIRE_SERVICES"] == "1" }
}

/// Two real-time processes (two applications in this test process, on one data directory and
/// one Redis): typing and presence reach a user whose socket is held by the other one.
@Suite(.enabled(if: SharedRedis.enabled, "needs CHATTER_TEST_REDIS_URL (scripts/test starts Redis)"))
struct SharedRealtimeTests {
    @Test func typingAndPresenceCrossProcesses() async throws {
        let url = try #require(SharedRedis.url, "CHATTER_REQUIRE_SERVICES=1 but CHATTER_TEST_REDIS_URL is not set")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-shared-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configure: @Sendable (inout ChatterConfiguration) -> Void = {
            $0.redisURL = url
            $0.presenceGraceMs = 200
        }
        try await withApp(dataDirectory: directory, live: true, configure: configure) { first in
            let alice = try await first.register("alice")
            let bob = try await first.register("bob")
            let chat = try await first.createGroup(alice.token, members: [bob.id])
            try await withApp(dataDirectory: directory, live: true, configure: configure) { second in
                try await withSocket(port: first.port, token: alice.token) { aliceSocket in
                    _ = try await aliceSocket.next { $0.type == "ready" }
                    try await withSocket(port: second.port, token: bob.token) { bobSocket in
                        _ = try await bobSocket.next { $0.type == "ready" }
                        // Bob (on the second) learns Alice (on the first) is online, and she learns he came.
                        let aliceOnline = try await bobSocket.next(timeout: .seconds(10)) { $0.kind == "presence" }
                        #expect(aliceOnline.event["user_id"] as? String == alice.id && aliceOnline.event["status"] as? String == "online")
                        let bobOnline = try await aliceSocket.next(timeout: .seconds(10)) { $0.kind == "presence" }
                        #expect(bobOnline.event["user_id"] as? String == bob.id && bobOnline.event["status"] as? String == "online")

                        try await bobSocket.send(["type": "typing", "chat_id": chat])
                        let typing = try await aliceSocket.next(timeout: .seconds(10)) { $0.kind == "typing" }
                        #expect(typing.event["user_id"] as? String == bob.id && typing.event["chat_id"] as? String == chat)
                        try await aliceSocket.send(["type": "typing", "chat_id": chat])
                        let back = try await bobSocket.next(timeout: .seconds(10)) { $0.kind == "typing" }
                        #expect(back.event["user_id"] as? String == alice.id)
                        // Bob's second device, on the first process, types within the interval:
                        // one broadcast per user and chat, whatever the device or process.
                        try await withSocket(port: first.port, token: bob.token) { bobPhone in
                            _ = try await bobPhone.next { $0.type == "ready" }
                            try await bobPhone.send(["type": "typing", "chat_id": chat])
                            try await bobPhone.send(["type": "ping"])
                            _ = try await bobPhone.next { $0.type == "pong" }
                        }
                        try await aliceSocket.send(["type": "ping"])
                        _ = try await aliceSocket.next { $0.type == "pong" }
                    }
                    // Bob's socket closed on the second: after its grace, the first tells Alice.
                    let offline = try await aliceSocket.next(timeout: .seconds(10)) {
                        $0.kind == "presence" && $0.event["status"] as? String == "offline"
                    }
                    #expect(offline.event["user_id"] as? String == bob.id)
                    #expect(aliceSocket.frames.filter { $0.kind == "typing" }.count == 1,
                            "her own typing is not echoed back, and Bob's second device was throttled")
                }
            }
        }
    }
}
