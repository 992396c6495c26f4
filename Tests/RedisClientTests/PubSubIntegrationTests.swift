import Testing

import RedisClient

@Suite("Pub/sub (real Redis)", .enabled("needs a Redis server at CHATTER_TEST_REDIS_URL") { await TestRedis.isAvailable() },
       .timeLimit(.minutes(1)))
struct PubSubIntegrationTests {
    @Test func messagesAreDeliveredToEverySubscriber() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let channel = TestRedis.key()
            let first = try await redis.subscribe(channel: channel)
            let second = try await redis.subscribe(channel: channel)
            let other = try await redis.subscribe(channel: channel + ":other")
            #expect(try await redis.publish("hello", to: channel) == 1, "one subscription on the wire")
            #expect(try await redis.publish("world", to: channel) == 1)

            let received = try await within(.seconds(5)) {
                let a = await first.prefix(2).reduce(into: []) { $0.append($1.string) }
                let b = await second.prefix(2).reduce(into: []) { $0.append($1.string) }
                return [a, b]
            }
            #expect(received == [["hello", "world"], ["hello", "world"]])
            _ = other
        }
    }

    @Test func commandsStillWorkWhileSubscribed() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let channel = TestRedis.key()
            let subscription = try await redis.subscribe(channel: channel)
            let key = TestRedis.key("key")
            try await redis.set(key, "v")
            #expect(try await redis.get(key) == "v")
            try await redis.publish("ping", to: channel)
            let message = try await within(.seconds(5)) {
                await subscription.first { _ in true }
            }
            #expect(message?.channel == channel && message?.string == "ping")
            try await redis.delete(key)
        }
    }

    /// Dropping every subscription to a channel unsubscribes it on the server.
    @Test func droppedSubscriptionsUnsubscribe() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let channel = TestRedis.key()
            do {
                let subscription = try await redis.subscribe(channel: channel)
                #expect(try await redis.publish("one", to: channel) == 1)
                _ = subscription
            }
            var receivers = 1
            // Up to 10 s: the unsubscribe follows the drop asynchronously, slower under load.
            for _ in 0..<100 where receivers > 0 {
                try await Task.sleep(for: .milliseconds(100))
                receivers = try await redis.publish("two", to: channel)
            }
            #expect(receivers == 0)
            // And subscribing again works.
            let again = try await redis.subscribe(channel: channel)
            #expect(try await redis.publish("three", to: channel) == 1)
            _ = again
        }
    }

    /// Subscribing again while the last drop's UNSUBSCRIBE is still on its way: `subscribe`
    /// must not return before Redis has the new subscription, so a message published right after
    /// it reaches it (an earlier version returned on the subscription being dropped).
    @Test func aResubscribeRacingTheDropsUnsubscribeStillReceives() async throws {
        try await withClient(TestRedis.configuration()) { redis in
            let channel = TestRedis.key()
            for round in 0..<200 {
                do {
                    let first = try await redis.subscribe(channel: channel)
                    _ = first
                }
                let again = try await redis.subscribe(channel: channel)
                #expect(try await redis.publish("round \(round)", to: channel) == 1, "round \(round)")
                _ = again
            }
        }
    }

    @Test func subscriptionsEndWhenTheClientShutsDown() async throws {
        let subscription = try await withClient(TestRedis.configuration()) { redis in
            try await redis.subscribe(channel: TestRedis.key())
        }
        let ended = try await within(.seconds(5)) {
            await subscription.first { _ in true } == nil
        }
        #expect(ended)
    }
}
