#if Kafka
import CRdKafka

/// One `rd_kafka_t` and the serial queue its blocking calls run on. librdkafka's handles are
/// thread-safe, which is what makes the unchecked `Sendable` sound; the pointer never leaves
/// this folder.
final class RDKafkaHandle: @unchecked Sendable {
    enum Kind: Sendable { case producer, consumer }

    let pointer: OpaquePointer
    let kind: Kind
    let queue: BlockingQueue
    private let context: RDKafkaContext

    init(kind: Kind, settings: [(String, String)], context: RDKafkaContext, label: String) throws {
        let conf = try RDKafkaConfig.make(settings)
        context.install(on: conf)
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &message, message.count) else {
            // rd_kafka_new takes the configuration over only when it succeeds.
            rd_kafka_conf_destroy(conf)
            throw KafkaEventLogError(.configuration, "rd_kafka_new: \(string(fromCBuffer: message))")
        }
        self.pointer = pointer
        self.kind = kind
        self.context = context
        queue = BlockingQueue(label: label)
    }

    deinit {
        // Closing a consumer and destroying a handle join librdkafka's threads: done on the
        // handle's queue (after any call still running there), not on the releasing thread,
        // which may be one of the cooperative pool's. The context lives until the end.
        let handle = UncheckedHandle(pointer: pointer)
        let kind = self.kind
        let context = self.context
        queue.async {
            if kind == .consumer { _ = rd_kafka_consumer_close(handle.pointer) }
            rd_kafka_destroy(handle.pointer)
            withExtendedLifetime(context) {}
        }
    }
}

/// A handle pointer moved into the teardown closure after its owner is gone.
private struct UncheckedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
#endif
