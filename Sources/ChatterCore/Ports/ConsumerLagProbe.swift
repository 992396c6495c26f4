import Synchronization

/// Lets whoever reports metrics ask a running consume loop how far behind it is, without
/// owning its subscription (which the loop replaces when the log fails).
public final class ConsumerLagProbe: Sendable {
    public let topic: String
    public let group: String
    private let current = Mutex<(any EventSubscription)?>(nil)

    public init(topic: String, group: String) {
        self.topic = topic
        self.group = group
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
