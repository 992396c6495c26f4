#if Kafka
import ChatterCore

/// How Chatter talks to Kafka. Every field has a default except the brokers; each names the
/// environment variable that sets it.
public struct KafkaConfiguration: Sendable {
    /// Bootstrap servers, `host:port[,host:port…]`. `CHATTER_KAFKA_BROKERS` (no default: Kafka is
    /// used only when it is set).
    public var brokers: String
    /// Partitions of topics this log creates: the unit of parallelism for consumers, and fixed
    /// for a topic's life because the key → partition mapping depends on it.
    /// `CHATTER_KAFKA_PARTITIONS`, default 6.
    public var partitions: Int = 6
    /// Replicas of each partition of topics this log creates. `CHATTER_KAFKA_REPLICATION`,
    /// default 3 (with `acks=all`, an acknowledged record survives the loss of two brokers).
    /// A cluster with fewer brokers gets one replica per broker, and a warning.
    public var replicationFactor: Int = 3
    /// How long librdkafka keeps retrying a record (`message.timeout.ms`) before `publish`
    /// throws; long enough to ride out a broker restart. `CHATTER_KAFKA_DELIVERY_TIMEOUT_MS`,
    /// default 30 s.
    public var deliveryTimeout: Duration = .seconds(30)
    /// Bound on metadata, topic creation, committed-offset and commit requests, and on `ping`.
    /// `CHATTER_KAFKA_REQUEST_TIMEOUT_MS`, default 5 s.
    public var requestTimeout: Duration = .seconds(5)
    /// `client.id`, shown in broker logs and metrics. `CHATTER_KAFKA_CLIENT_ID`, default `chatter`.
    public var clientID: String = "chatter"
    /// Further librdkafka properties (security, TLS, SASL…), applied last to every handle.
    public var properties: [String: String] = [:]

    public init(brokers: String) {
        self.brokers = brokers
    }

    /// The configuration from `CHATTER_KAFKA_*` variables, or nil when `CHATTER_KAFKA_BROKERS`
    /// is unset or empty (Kafka not configured).
    public init?(environment: [String: String]) throws {
        guard let brokers = environment["CHATTER_KAFKA_BROKERS"], !brokers.isEmpty else { return nil }
        self.init(brokers: brokers)
        func integer(_ name: String, minimum: Int) throws -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let value = Int(raw), value >= minimum else {
                throw ConfigurationError(variable: name, value: raw, expected: "an integer ≥ \(minimum)")
            }
            return value
        }
        if let value = try integer("CHATTER_KAFKA_PARTITIONS", minimum: 1) { partitions = value }
        if let value = try integer("CHATTER_KAFKA_REPLICATION", minimum: 1) { replicationFactor = value }
        if let value = try integer("CHATTER_KAFKA_DELIVERY_TIMEOUT_MS", minimum: 1) { deliveryTimeout = .milliseconds(value) }
        if let value = try integer("CHATTER_KAFKA_REQUEST_TIMEOUT_MS", minimum: 1) { requestTimeout = .milliseconds(value) }
        if let value = environment["CHATTER_KAFKA_CLIENT_ID"], !value.isEmpty { clientID = value }
    }
}

extension Duration {
    /// Whole milliseconds, clamped to what librdkafka's `int` timeouts take.
    var kafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, milliseconds))
    }
}
#endif
