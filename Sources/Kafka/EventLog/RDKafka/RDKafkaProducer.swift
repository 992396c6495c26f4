#if Kafka
import ChatterCore
import CRdKafka
import Logging

/// The producing side: an idempotent producer whose records are keyed by the event's key.
final class RDKafkaProducer: Sendable {
    let handle: RDKafkaHandle
    let deliveries: DeliveryTracker

    /// librdkafka's "let the partitioner choose" partition (RD_KAFKA_PARTITION_UA).
    private static let unassignedPartition: Int32 = -1

    init(configuration: KafkaConfiguration, logger: Logger) throws {
        let deliveries = DeliveryTracker()
        var settings = RDKafkaConfig.common(configuration)
        settings += [
            // Retries can neither duplicate nor reorder records, and a record is acknowledged
            // only once every in-sync replica has it.
            ("enable.idempotence", "true"),
            ("acks", "all"),
            // The Java client's partitioner, so other producers put a chat's events in the
            // same partition.
            ("partitioner", "murmur2_random"),
            ("message.timeout.ms", "\(configuration.deliveryTimeout.kafkaMilliseconds)"),
            // Batch what arrives together without adding noticeable latency.
            ("linger.ms", "5"),
        ]
        settings += configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        handle = try RDKafkaHandle(
            kind: .producer, settings: settings, context: RDKafkaContext(logger: logger, deliveries: deliveries),
            label: "chatter.kafka.producer")
        self.deliveries = deliveries
    }

    /// Hands one record to librdkafka's queue without blocking; its delivery report names `batch`.
    func enqueue(_ event: OutgoingEvent, batch: UInt) throws {
        // librdkafka copies headers given as a list; on failure the list stays ours to free.
        guard let headers = rd_kafka_headers_new(event.headers.count) else {
            throw KafkaEventLogError(.delivery, "rd_kafka_headers_new failed")
        }
        for (name, value) in event.headers.sorted(by: { $0.key < $1.key }) {
            var value = value
            _ = value.withUTF8 { bytes in
                rd_kafka_header_add(headers, name, -1, bytes.baseAddress, bytes.count)
            }
        }
        var key = event.key
        var payload = event.payload
        let error: OpaquePointer? = event.topic.withCString { topic in
            key.withUTF8 { key in
                payload.withUTF8 { payload in
                    var arguments = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 7)
                    arguments[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    arguments[0].u.cstr = topic
                    arguments[1].vtype = RD_KAFKA_VTYPE_PARTITION
                    arguments[1].u.i32 = Self.unassignedPartition
                    arguments[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    arguments[2].u.i = RD_KAFKA_MSG_F_COPY
                    arguments[3].vtype = RD_KAFKA_VTYPE_KEY
                    arguments[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    arguments[3].u.mem.size = key.count
                    arguments[4].vtype = RD_KAFKA_VTYPE_VALUE
                    arguments[4].u.mem.ptr = UnsafeMutableRawPointer(mutating: payload.baseAddress)
                    arguments[4].u.mem.size = payload.count
                    arguments[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                    arguments[5].u.ptr = UnsafeMutableRawPointer(bitPattern: batch)
                    arguments[6].vtype = RD_KAFKA_VTYPE_HEADERS
                    arguments[6].u.headers = headers
                    return rd_kafka_produceva(handle.pointer, arguments, arguments.count)
                }
            }
        }
        if let error {
            defer { rd_kafka_error_destroy(error) }
            rd_kafka_headers_destroy(headers)
            let code = rd_kafka_error_code(error)
            throw KafkaEventLogError(.delivery, "produce to \(event.topic)", rdCode: code)
        }
    }

    /// Records (and other requests) in librdkafka's queues; does not block.
    var pendingRecords: Int { Int(rd_kafka_outq_len(handle.pointer)) }

    /// Serves delivery reports (and logs) for up to `timeout`. Blocks: call on `handle.queue`.
    func poll(timeout: Duration) {
        _ = rd_kafka_poll(handle.pointer, timeout.kafkaMilliseconds)
    }

    /// Waits up to `timeout` for every queued record's report. Blocks: call on `handle.queue`.
    func flush(timeout: Duration) {
        _ = rd_kafka_flush(handle.pointer, timeout.kafkaMilliseconds)
    }
}
#endif
