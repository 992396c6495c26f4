#if Kafka
import ChatterCore
import CRdKafka
import Logging

/// The consuming side of one subscription: a consumer in `group` that is assigned every
/// partition of one topic by hand. Its methods block: call them on `handle.queue`.
final class RDKafkaConsumer: Sendable {
    let handle: RDKafkaHandle
    let logger: Logger

    /// librdkafka's logical offset "the partition's first record".
    private static let offsetBeginning: Int64 = -2

    init(configuration: KafkaConfiguration, group: String, start: StartPosition, logger: Logger) throws {
        var settings = RDKafkaConfig.common(configuration)
        settings += [
            ("group.id", group),
            // Offsets move only when the application says it has processed the records.
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", start == .earliest ? "earliest" : "latest"),
            // A waiting consumer hears of new records within this, not the default 500 ms.
            ("fetch.wait.max.ms", "100"),
        ]
        settings += configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        handle = try RDKafkaHandle(
            kind: .consumer, settings: settings, context: RDKafkaContext(logger: logger), label: "chatter.kafka.consumer.\(group)")
        self.logger = logger
    }

    /// Assigns partitions `0..<partitions` of `topic`, each from the group's committed offset,
    /// or else from `start`. The positions are fixed here, before `subscribe` returns, so that
    /// `latest` means "after subscribing" and not "after librdkafka got round to asking".
    func assign(topic: String, partitions: Int, start: StartPosition, timeout: Duration) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions {
            _ = rd_kafka_topic_partition_list_add(list, topic, Int32(partition))
        }
        let committed = rd_kafka_committed(handle.pointer, list, timeout.kafkaMilliseconds)
        guard committed == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw KafkaEventLogError(.consumer, "committed offsets of \(topic)", rdCode: committed)
        }
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems.advanced(by: index)
            guard element.pointee.offset < 0 else { continue }  // resumes after the commit
            switch start {
            case .earliest:
                element.pointee.offset = Self.offsetBeginning
            case .latest:
                var low: Int64 = 0, high: Int64 = 0
                let result = rd_kafka_query_watermark_offsets(
                    handle.pointer, topic, element.pointee.partition, &low, &high, timeout.kafkaMilliseconds)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaEventLogError(.consumer, "end offset of \(topic)/\(element.pointee.partition)", rdCode: result)
                }
                element.pointee.offset = high
            }
        }
        let assigned = rd_kafka_assign(handle.pointer, list)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaEventLogError(.consumer, "assign \(topic)", rdCode: assigned)
        }
    }

    /// Up to `maxRecords` records: waits up to `wait` for the first, then takes only what has
    /// already arrived.
    func poll(maxRecords: Int, wait: Duration) -> [EventRecord] {
        var records: [EventRecord] = []
        var timeout = wait.kafkaMilliseconds
        while records.count < maxRecords, let message = rd_kafka_consumer_poll(handle.pointer, timeout) {
            defer { rd_kafka_message_destroy(message) }
            timeout = 0
            let code = message.pointee.err
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                // Consumer errors are reports (a broker went away, a fetch failed); librdkafka
                // keeps retrying on its own.
                let reason = KafkaEventLogError(.consumer, "consume", rdCode: code).reason
                logger.debug("consumer error", metadata: ["error": "\(reason)"])
                continue
            }
            records.append(Self.record(from: message))
        }
        return records
    }

    /// Records fetched by no `poll` yet, summed over `topic`'s partitions: each partition's high
    /// watermark as of its last fetch (librdkafka's cache, no request) minus this consumer's
    /// position. Partitions without a position yet are left out; nil when none has one.
    func lag(topic: String, partitions: Int) -> Int64? {
        guard let list = rd_kafka_topic_partition_list_new(Int32(partitions)) else { return nil }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions { _ = rd_kafka_topic_partition_list_add(list, topic, Int32(partition)) }
        guard rd_kafka_position(handle.pointer, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var total: Int64?
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            var low: Int64 = 0, high: Int64 = 0
            guard element.offset >= 0,
                  rd_kafka_get_watermark_offsets(handle.pointer, topic, element.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  high >= 0
            else { continue }
            total = (total ?? 0) + max(0, high - element.offset)
        }
        return total
    }

    /// Commits the next offsets to read (`partition → offset`) and waits for the broker.
    func commit(topic: String, offsets: [Int: Int64]) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            rd_kafka_topic_partition_list_add(list, topic, Int32(partition))?.pointee.offset = offset
        }
        let result = rd_kafka_commit(handle.pointer, list, 0)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result.rawValue == RDKafkaCode.noOffset else {
            throw KafkaEventLogError(.consumer, "commit \(topic)", rdCode: result)
        }
        if let list {
            for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaEventLogError(.consumer, "commit \(topic)/\(list.pointee.elems[index].partition)", rdCode: list.pointee.elems[index].err)
            }
        }
    }

    private static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>) -> EventRecord {
        func text(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> String {
            guard let pointer else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
        }
        var headers: [String: String] = [:]
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers[String(cString: name)] = value.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self)
                    } ?? ""
                }
                index += 1
            }
        }
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        return EventRecord(
            topic: topic, partition: Int(message.pointee.partition), offset: message.pointee.offset,
            key: text(message.pointee.key, message.pointee.key_len),
            payload: text(message.pointee.payload, message.pointee.len), headers: headers)
    }
}
#endif
