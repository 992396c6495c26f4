import Synchronization

/// Lets whoever reports metrics ask a running consume loop how far behind it is, without
/// owning its subscription (which the loop replaces when the log fails).
public final class ConsumerLagProbe: Sendable {
    public let topic: String
    /// What consumes (`notification`, `membership`): the same in every process.
    public let consumer: String
    private let current = Mutex<(any EventSubscription)?>(nil)

    public init(topic: String, consumer: String) {
        self.topic = topic
        self.consumer = consumer
    }

    func attach(_ subscription: any EventSubscription) {
        current.withLock { $0 = subscription }
    }

    /// Records not yet read; nil before the loop subscribed or when the log cannot tell.
    public func lag() async -> Int64? {
        guard let subscription = current.withLock({ $0 }) else { return nil }
        return try? await subscription.lag()
    }
}
