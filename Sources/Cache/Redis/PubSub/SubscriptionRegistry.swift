/// Who listens to which channel, and which channels Redis has confirmed on the current
/// subscription connection. Plain bookkeeping, kept under the ``SubscriptionManager``'s lock;
/// the caller resumes the waiters and finishes the sinks it returns, outside the lock.
struct SubscriptionRegistry {
    typealias Sink = AsyncStream<RedisMessage>.Continuation
    typealias Waiter = CheckedContinuation<Void, any Error>

    enum AddResult {
        case confirmed
        case pending
        case failed(RedisError)
    }

    private var listeners: [String: [Int: Sink]] = [:]
    /// Channels subscribed on the current connection.
    private(set) var confirmed: Set<String> = []
    /// `subscribe` calls waiting for their channel to be confirmed.
    private var waiters: [Int: (channel: String, waiter: Waiter)] = [:]
    /// Connect attempts failed in a row; above zero new subscriptions fail at once.
    private(set) var failures = 0
    private var lastError: (any Error)?
    private(set) var isShutDown = false

    /// The channels someone listens to.
    var wanted: Set<String> { Set(listeners.keys) }

    mutating func add(_ sink: Sink, id: Int, channel: String) -> AddResult {
        if isShutDown { return .failed(RedisError(.shutDown, "the Redis client is not running")) }
        if failures > 0 {
            return .failed(RedisError(.unavailable, "Redis is unreachable; reconnecting in the background", underlying: lastError))
        }
        listeners[channel, default: [:]][id] = sink
        return confirmed.contains(channel) ? .confirmed : .pending
    }

    /// Queues `waiter` until `channel` is confirmed, unless it already is (`.confirmed`) or
    /// the subscription can no longer be made (`.failed`); then nothing is queued.
    mutating func wait(id: Int, channel: String, _ waiter: Waiter) -> AddResult {
        if confirmed.contains(channel) { return .confirmed }
        if let failure = refusal(id: id, channel: channel) { return .failed(failure) }
        waiters[id] = (channel, waiter)
        return .pending
    }

    /// Why subscription `id` cannot wait for its confirmation: a connect failed since it was
    /// added, the client shut down, or Redis refused the channel.
    private func refusal(id: Int, channel: String) -> RedisError? {
        if isShutDown { return RedisError(.shutDown, "the Redis client is not running") }
        if failures > 0 {
            return RedisError(.unavailable, "Redis is unreachable; reconnecting in the background", underlying: lastError)
        }
        if listeners[channel]?[id] == nil { return RedisError(.unavailable, "the subscription to \(channel) was dropped") }
        return nil
    }

    mutating func removeWaiter(id: Int) -> Waiter? {
        waiters.removeValue(forKey: id)?.waiter
    }

    mutating func remove(id: Int, channel: String) -> Sink? {
        let sink = listeners[channel]?.removeValue(forKey: id)
        if listeners[channel]?.isEmpty == true { listeners[channel] = nil }
        return sink
    }

    func sinks(for channel: String) -> [Sink] {
        listeners[channel].map { Array($0.values) } ?? []
    }

    /// Redis confirmed `channel`; returns the waiters to resume.
    mutating func confirm(_ channel: String) -> [Waiter] {
        confirmed.insert(channel)
        let ready = waiters.filter { $0.value.channel == channel }
        for id in ready.keys { waiters[id] = nil }
        return ready.values.map(\.waiter)
    }

    mutating func unconfirm(_ channel: String) {
        confirmed.remove(channel)
    }

    /// Redis refused to subscribe `channel` (an ACL rule, say): its listeners are dropped.
    mutating func reject(_ channel: String) -> (waiters: [Waiter], sinks: [Sink]) {
        let refused = waiters.filter { $0.value.channel == channel }
        for id in refused.keys { waiters[id] = nil }
        let sinks = sinks(for: channel)
        listeners[channel] = nil
        return (refused.values.map(\.waiter), sinks)
    }

    mutating func connected() {
        failures = 0
        lastError = nil
    }

    mutating func connectionLost() {
        confirmed.removeAll()
    }

    /// A connect attempt failed; returns every waiter, to fail.
    mutating func connectFailed(_ error: any Error) -> [Waiter] {
        failures += 1
        lastError = error
        defer { waiters.removeAll() }
        return waiters.values.map(\.waiter)
    }

    mutating func shutdown() -> (waiters: [Waiter], sinks: [Sink]) {
        isShutDown = true
        defer {
            waiters.removeAll()
            listeners.removeAll()
            confirmed.removeAll()
        }
        return (waiters.values.map(\.waiter), listeners.values.flatMap(\.values))
    }
}
