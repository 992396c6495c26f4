#if Kafka
import ChatterCore
import Synchronization

/// A pull-based subscription: `next` polls this subscription's consumer on its own queue,
/// 100 ms at a time so that cancellation is noticed, and nothing is fetched ahead of what
/// librdkafka buffers itself.
final class KafkaEventSubscription: EventSubscription {
    let consumer: RDKafkaConsumer
    let topic: String
    let partitions: Int
    /// The highest next-offset committed per partition: a commit never moves one backwards.
    private let committed = Mutex<[Int: Int64]>([:])

    init(consumer: RDKafkaConsumer, topic: String, partitions: Int) {
        self.consumer = consumer
        self.topic = topic
        self.partitions = partitions
    }

    func lag() async throws -> Int64? {
        let consumer = self.consumer, topic = self.topic, partitions = self.partitions
        return await consumer.handle.queue.run { consumer.lag(topic: topic, partitions: partitions) }
    }

    func next(maxRecords: Int) async throws -> [EventRecord] {
        let consumer = self.consumer, limit = max(1, maxRecords)
        while true {
            try Task.checkCancellation()
            let records = await consumer.handle.queue.run {
                consumer.poll(maxRecords: limit, wait: KafkaEventLog.pollInterval)
            }
            if !records.isEmpty { return records }
        }
    }

    func commit(_ records: [EventRecord]) async throws {
        var next: [Int: Int64] = [:]
        for record in records where record.topic == topic {
            next[record.partition] = max(next[record.partition] ?? 0, record.offset + 1)
        }
        let offsets = committed.withLock { committed in next.filter { $0.value > committed[$0.key] ?? -1 } }
        guard !offsets.isEmpty else { return }
        let consumer = self.consumer, topic = self.topic
        try await consumer.handle.queue.run { try consumer.commit(topic: topic, offsets: offsets) }
        committed.withLock { committed in
            for (partition, offset) in offsets { committed[partition] = max(committed[partition] ?? -1, offset) }
        }
    }
}
#endif
