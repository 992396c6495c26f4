import NIOCore

/// One message published to a channel the caller subscribed to.
public struct RedisMessage: Sendable, Hashable {
    /// The channel it was published to.
    public let channel: String
    /// The bytes published, as sent.
    public let payload: ByteBuffer

    /// The payload decoded as UTF-8.
    public var string: String { String(buffer: payload) }
}

/// The messages published to one channel, from the moment ``RedisClient/subscribe(channel:)``
/// returned. Iterate it from one task.
///
/// Delivery is at most once, like Redis pub/sub itself: messages published while the
/// subscription connection is down (between a drop and the automatic resubscribe) are lost,
/// and a consumer that falls more than `subscriptionBufferSize` messages behind loses the
/// oldest. The sequence ends when the client shuts down; to unsubscribe, stop iterating
/// (cancel the task or break out of the loop) and drop the sequence.
public struct RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisMessage
    public typealias Failure = Never

    /// The channel subscribed to.
    public let channel: String
    let messages: AsyncStream<RedisMessage>
    /// Unsubscribes once the last copy of this sequence and of its iterators is gone.
    let token: SubscriptionToken

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = RedisMessage
        public typealias Failure = Never

        var base: AsyncStream<RedisMessage>.AsyncIterator
        let token: SubscriptionToken

        public mutating func next() async -> RedisMessage? {
            await base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: messages.makeAsyncIterator(), token: token)
    }
}

/// Runs its closure when released: how a dropped ``RedisSubscription`` unsubscribes.
final class SubscriptionToken: Sendable {
    private let onRelease: @Sendable () -> Void

    init(onRelease: @escaping @Sendable () -> Void) {
        self.onRelease = onRelease
    }

    deinit {
        onRelease()
    }
}
