#if Kafka
import ChatterCore
import Logging
import ServiceLifecycle
import Telemetry
import Synchronization

/// The event log port on Kafka, through librdkafka. Publishing goes through one idempotent
/// producer (`acks=all`, keyed by the event key, so a chat's events stay in one partition in
/// order); each subscription is a consumer of its own. `run()` serves the producer's delivery
/// reports: `publish` returns only once the brokers acknowledged every event, so the log must
/// be running (in a `ServiceGroup`, say) for a publish to finish.
public final class KafkaEventLog: EventLog, Service {
    public let configuration: KafkaConfiguration
    let logger: Logger
    let producer: RDKafkaProducer
    /// Metadata and topic creation, kept apart from the poll loop's queue so neither waits on
    /// the other.
    let admin = BlockingQueue(label: "chatter.kafka.admin")
    /// Partition counts of topics known to exist.
    let topics = Mutex<[String: Int]>([:])
    let runState = Mutex(RunState.idle)

    enum RunState { case idle, running, finished }

    /// Creates the producer; no connection is made until the first request. Throws when
    /// librdkafka refuses the configuration.
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: KafkaLoggingKeys.brokers] = "\(configuration.brokers)"
        self.configuration = configuration
        self.logger = logger
        producer = try RDKafkaProducer(configuration: configuration, logger: logger)
    }

    public var system: String { "kafka" }

    public func publish(_ events: [OutgoingEvent]) async throws {
        guard !events.isEmpty else { return }
        for topic in Set(events.map(\.topic)) { _ = try await ensureTopic(topic) }
        // A producer span per traced record, ended when its batch is acknowledged or failed.
        var events = events
        let traced = EventSpans.startPublishing(system: system, topic: events[0].topic, headers: events.map(\.headers))
        for index in events.indices { events[index].headers = traced.headers[index] }
        do {
            try await enqueueAndAwait(events)
            EventSpans.endPublishing(traced.spans, error: nil)
        } catch {
            EventSpans.endPublishing(traced.spans, error: error)
            throw error
        }
    }

    private func enqueueAndAwait(_ events: [OutgoingEvent]) async throws {
        let producer = self.producer
        // Not cancellable: once a record is in librdkafka's queue it will be delivered or fail
        // within the delivery timeout, and the caller learns which.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            guard let batch = producer.deliveries.register(count: events.count, continuation: continuation) else { return }
            for (index, event) in events.enumerated() {
                do {
                    try producer.enqueue(event, batch: batch)
                } catch {
                    let failure = error as? KafkaEventLogError ?? KafkaEventLogError(.delivery, "\(error)")
                    producer.deliveries.abandon(batch: batch, records: events.count - index, failure: failure)
                    return
                }
            }
        }
    }

    public func subscribe(topic: String, group: String, start: StartPosition) async throws -> any EventSubscription {
        let partitions = try await ensureTopic(topic)
        var logger = self.logger
        logger[metadataKey: KafkaLoggingKeys.topic] = "\(topic)"
        logger[metadataKey: KafkaLoggingKeys.group] = "\(group)"
        let consumer = try RDKafkaConsumer(configuration: configuration, group: group, start: start, logger: logger)
        let timeout = configuration.requestTimeout
        try await consumer.handle.queue.run {
            try consumer.assign(topic: topic, partitions: partitions, start: start, timeout: timeout)
        }
        return KafkaEventSubscription(consumer: consumer, topic: topic, partitions: partitions)
    }

    /// Records handed to librdkafka whose acknowledgement (or failure) has not come back yet:
    /// a gauge for metrics, and how tests know a publish is in flight.
    public var pendingRecords: Int { producer.pendingRecords }

    /// Throws unless a broker answers a metadata request within the request timeout: for
    /// readiness checks.
    public func ping() async throws {
        let producer = self.producer, timeout = configuration.requestTimeout
        let brokers = try await admin.run { try producer.handle.describe(topic: nil, timeout: timeout).brokers }
        guard brokers > 0 else { throw KafkaEventLogError(.unavailable, "the cluster reports no brokers") }
    }

    /// `topic`'s partition count, creating the topic with the configured partitions and
    /// replication if the cluster does not have it. `publish` and `subscribe` call it; call it
    /// at startup to fail early.
    @discardableResult
    public func ensureTopic(_ topic: String) async throws -> Int {
        if let known = topics.withLock({ $0[topic] }) { return known }
        let producer = self.producer, configuration = self.configuration, logger = self.logger
        let partitions = try await admin.run {
            try producer.handle.ensureTopic(
                topic, partitions: configuration.partitions, replicationFactor: configuration.replicationFactor,
                timeout: configuration.requestTimeout, logger: logger)
        }
        topics.withLock { $0[topic] = partitions }
        return partitions
    }
}
#endif
