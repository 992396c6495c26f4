#if Kafka
/// Logger metadata keys the Kafka event log writes, namespaced so queries can find them.
enum KafkaLoggingKeys {
    /// librdkafka's log facility (BROKER, FETCH, CGRP…).
    static let facility = "kafka.facility"
    static let topic = "kafka.topic"
    static let group = "kafka.group"
    static let brokers = "kafka.brokers"
}
#endif
