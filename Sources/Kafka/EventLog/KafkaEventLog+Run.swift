#if Kafka
import Logging
import ServiceLifecycle
import Synchronization

extension KafkaEventLog {
    /// How long one poll waits for delivery reports: how quickly the loop notices shutdown.
    static let pollInterval: Duration = .milliseconds(100)

    /// Serves delivery reports until graceful shutdown or cancellation, then waits (up to the
    /// delivery timeout) for records already handed to librdkafka, and fails any publish still
    /// waiting. Call once.
    public func run() async throws {
        let first = runState.withLock { state in
            guard state == .idle else { return false }
            state = .running
            return true
        }
        guard first else { throw KafkaEventLogError(.shutDown, "run() was already called") }
        let producer = self.producer
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await producer.handle.queue.run { producer.poll(timeout: Self.pollInterval) }
            }
        }
        let timeout = configuration.deliveryTimeout
        await producer.handle.queue.run { producer.flush(timeout: timeout) }
        producer.deliveries.close()
        runState.withLock { $0 = .finished }
        logger.debug("Kafka event log stopped")
    }
}
#endif
