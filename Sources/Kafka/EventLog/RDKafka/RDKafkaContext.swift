#if Kafka
import CRdKafka
import Logging

/// What librdkafka's callbacks need, reached through the handle's `opaque` pointer (C function
/// pointers cannot capture). The handle keeps it alive until `rd_kafka_destroy` has returned.
final class RDKafkaContext: Sendable {
    let logger: Logger
    /// Set on producers: where delivery reports go.
    let deliveries: DeliveryTracker?

    init(logger: Logger, deliveries: DeliveryTracker? = nil) {
        self.logger = logger
        self.deliveries = deliveries
    }

    /// Installs the callbacks and this context as `conf`'s opaque.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        // librdkafka logs from its own threads; swift-log handlers are thread-safe.
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<RDKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
            context.log(level: level, facility: facility.map { String(cString: $0) } ?? "",
                        message: message.map { String(cString: $0) } ?? "")
        }
        if deliveries != nil {
            // Runs on the thread that calls rd_kafka_poll or rd_kafka_flush: the poll loop.
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                let context = Unmanaged<RDKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
                let batch = UInt(bitPattern: message.pointee._private)
                let code = message.pointee.err
                let failure: KafkaEventLogError? = code == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? nil : KafkaEventLogError(.delivery, "record not acknowledged", rdCode: code)
                context.deliveries?.delivered(batch: batch, failure: failure)
            }
        }
    }

    /// syslog levels (librdkafka's) to swift-log's.
    private func log(level: Int32, facility: String, message: String) {
        let mapped: Logger.Level = switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
        logger.log(level: mapped, "\(message)", metadata: [KafkaLoggingKeys.facility: "\(facility)"])
    }
}
#endif
