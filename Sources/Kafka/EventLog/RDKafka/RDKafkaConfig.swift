#if Kafka
import CRdKafka

/// Builds `rd_kafka_conf_t`s. Settings are applied in order, so later entries (the
/// configuration's pass-through properties) override Chatter's defaults.
enum RDKafkaConfig {
    /// A new configuration; the caller owns it until `rd_kafka_new` takes it over.
    static func make(_ settings: [(String, String)]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaEventLogError(.configuration, "rd_kafka_conf_new failed")
        }
        var message = [CChar](repeating: 0, count: 512)
        for (name, value) in settings {
            let result = rd_kafka_conf_set(conf, name, value, &message, message.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw KafkaEventLogError(.configuration, "\(name)=\(value): \(string(fromCBuffer: message))")
            }
        }
        return conf
    }

    /// Settings every handle of the log shares.
    static func common(_ configuration: KafkaConfiguration) -> [(String, String)] {
        [
            ("bootstrap.servers", configuration.brokers),
            ("client.id", configuration.clientID),
            // Topics are created by `ensureTopic` with the configured partitions, never by a
            // broker's defaults because someone asked for metadata.
            ("allow.auto.create.topics", "false"),
            // Come back quickly after a broker restart (librdkafka's default backs off to 10 s).
            ("reconnect.backoff.max.ms", "1000"),
        ]
    }
}
#endif
