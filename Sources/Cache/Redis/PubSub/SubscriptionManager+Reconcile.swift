import Logging
import NIOCore
import Synchronization

extension SubscriptionManager {
    /// Brings the subscription connection in line with the registry: connects if someone
    /// listens (or a reconnect is due), subscribes new channels, unsubscribes abandoned ones.
    /// Returns the delay before the next attempt when Redis could not be reached.
    func reconcile(_ connection: inout RedisConnection?) async -> Duration? {
        if let current = connection, !current.isUsable {
            logger.warning("Redis subscription connection lost; resubscribing")
            registry.withLock { $0.connectionLost() }
            connection = nil
        }
        if connection == nil {
            let (wanted, failures) = registry.withLock { ($0.wanted, $0.failures) }
            guard !wanted.isEmpty || failures > 0 else { return nil }
            do {
                let opened = try await RedisConnection.connect(
                    configuration: configuration, id: 0, eventLoopGroup: eventLoopGroup, logger: logger,
                    onPush: { [weak self] push in self?.deliver(push) })
                opened.channel.closeFuture.whenComplete { [wake] _ in wake.yield() }
                registry.withLock { $0.connected() }
                if failures > 0 { logger.info("Reconnected to Redis for pub/sub") }
                connection = opened
            } catch {
                let (waiters, failures) = registry.withLock { ($0.connectFailed(error), $0.failures) }
                let failure = RedisError(.unavailable, "could not connect to Redis for pub/sub", underlying: error)
                for waiter in waiters { waiter.resume(throwing: failure) }
                let delay = backoff.delay(afterFailures: failures)
                if failures == 1 || failures.isMultiple(of: 10) {
                    logger.warning("Cannot connect to Redis for pub/sub; retrying", metadata: [
                        RedisLoggingKeys.error: "\(String(reflecting: error))", RedisLoggingKeys.retryDelay: "\(delay)",
                    ])
                }
                return delay
            }
        }
        guard let connection else { return nil }
        let (wanted, confirmed) = registry.withLock { ($0.wanted, $0.confirmed) }
        do {
            for channel in confirmed.subtracting(wanted) {
                // Unconfirmed before the command, not after its reply, and only if nobody
                // subscribed again since `wanted` was read: a `subscribe` must never return on a
                // subscription Redis is about to drop, missing what is published after it.
                let drop = registry.withLock { registry in
                    guard !registry.wanted.contains(channel) else { return false }
                    registry.unconfirm(channel)
                    return true
                }
                if drop { _ = try await connection.send(["UNSUBSCRIBE", channel]) }
            }
            try await subscribe(wanted.subtracting(confirmed), on: connection)
        } catch is CancellationError {
            // The client is shutting down: nothing failed.
            connection.closeNow()
        } catch {
            // A timeout or a dropped connection: start afresh on a new one.
            logger.warning("Redis subscription connection failed", metadata: [RedisLoggingKeys.error: "\(String(reflecting: error))"])
            connection.closeNow()
        }
        return nil
    }

    /// Subscribes `channels` with pipelined commands, one per channel (so each has one reply).
    private func subscribe(_ channels: Set<String>, on connection: RedisConnection) async throws {
        try await withThrowingTaskGroup(of: (String, RedisError?).self) { group in
            for channel in channels {
                group.addTask {
                    do {
                        _ = try await connection.send(["SUBSCRIBE", channel])
                        return (channel, nil)
                    } catch let error as RedisError where error.code == .serverError {
                        return (channel, error)
                    }
                }
            }
            for try await (channel, refusal) in group {
                if let refusal {
                    logger.error("Redis refused a subscription", metadata: [
                        RedisLoggingKeys.channel: "\(channel)", RedisLoggingKeys.error: "\(refusal.message)",
                    ])
                    let (waiters, sinks) = registry.withLock { $0.reject(channel) }
                    for waiter in waiters { waiter.resume(throwing: refusal) }
                    for sink in sinks { sink.finish() }
                } else {
                    for waiter in registry.withLock({ $0.confirm(channel) }) { waiter.resume() }
                }
            }
        }
    }
}
