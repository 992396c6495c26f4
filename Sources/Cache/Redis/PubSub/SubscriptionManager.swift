import Logging
import NIOCore
import Synchronization

/// The pub/sub side of the client: one dedicated connection carries every subscription (a
/// subscribed connection can run no other command). `run()` keeps it connected, subscribing
/// the channels someone listens to and unsubscribing the rest, and after a drop reconnects
/// with backoff and subscribes them all again.
final class SubscriptionManager: Sendable {
    let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let backoff: Backoff
    let registry = Mutex(SubscriptionRegistry())
    /// Tells `run()` that something changed; holds at most one pending signal.
    private let wakeups: AsyncStream<Void>
    let wake: AsyncStream<Void>.Continuation
    private let nextID = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.backoff = Backoff(initial: configuration.reconnectInitialDelay, maximum: configuration.reconnectMaximumDelay)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns once Redis has confirmed the subscription, waiting at most
    /// `connectionRequestTimeout` + `commandTimeout`; fails at once while Redis is unreachable.
    func subscribe(channel: String) async throws -> RedisSubscription {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (messages, sink) = AsyncStream.makeStream(
            of: RedisMessage.self, bufferingPolicy: .bufferingNewest(configuration.subscriptionBufferSize))
        sink.onTermination = { [weak self] _ in self?.remove(id: id, channel: channel) }
        let subscription = RedisSubscription(
            channel: channel, messages: messages,
            token: SubscriptionToken { [weak self] in self?.remove(id: id, channel: channel) })
        switch registry.withLock({ $0.add(sink, id: id, channel: channel) }) {
        case .confirmed:
            return subscription
        case .failed(let error):
            throw error
        case .pending:
            wake.yield()
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                switch registry.withLock({ $0.wait(id: id, channel: channel, waiter) }) {
                case .confirmed:
                    waiter.resume()
                    return
                case .failed(let error):
                    waiter.resume(throwing: error)
                    return
                case .pending:
                    break
                }
                let timeout = configuration.connectionRequestTimeout + configuration.commandTimeout
                eventLoopGroup.any().scheduleTask(in: TimeAmount(timeout)) {
                    self.dropWaiter(id, RedisError(.unavailable, "not subscribed to \(channel) within \(timeout)"))
                }
                if Task.isCancelled { dropWaiter(id, CancellationError()) }
            }
        } onCancel: {
            dropWaiter(id, CancellationError())
        }
        return subscription
    }

    /// Runs until cancelled, then ends every subscription and closes the connection.
    func run() async {
        var connection: RedisConnection?
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            if let retryDelay = await reconcile(&connection) {
                guard (try? await Task.sleep(for: retryDelay)) != nil else { break }
                continue
            }
            guard await iterator.next() != nil else { break }
        }
        let (waiters, sinks) = registry.withLock { $0.shutdown() }
        let error = RedisError(.shutDown, "the Redis client shut down")
        for waiter in waiters { waiter.resume(throwing: error) }
        for sink in sinks { sink.finish() }
        wake.finish()
        await connection?.close()
        logger.debug("Redis subscriptions shut down")
    }

    private func remove(id: Int, channel: String) {
        let sink = registry.withLock { $0.remove(id: id, channel: channel) }
        guard let sink else { return }
        sink.finish()
        wake.yield()
    }

    private func dropWaiter(_ id: Int, _ error: any Error) {
        registry.withLock { $0.removeWaiter(id: id) }?.resume(throwing: error)
    }

    /// Called on the event loop for every `message` / `pmessage` push.
    func deliver(_ push: RESPValue) {
        guard let parts = push.array, parts.count >= 3 else { return }
        guard let channel = parts[parts.count - 2].string, let payload = parts[parts.count - 1].bytes else { return }
        let message = RedisMessage(channel: channel, payload: payload)
        for sink in registry.withLock({ $0.sinks(for: channel) }) {
            guard case .dropped = sink.yield(message) else { continue }
            let count = dropped.wrappingAdd(1, ordering: .relaxed).newValue
            if count & (count - 1) == 0 {
                logger.warning("A Redis subscriber is too slow; dropped its oldest messages", metadata: [
                    RedisLoggingKeys.channel: "\(channel)", RedisLoggingKeys.droppedMessages: "\(count)",
                ])
            }
        }
    }
}
