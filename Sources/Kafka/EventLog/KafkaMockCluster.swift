#if Kafka
import Logging

/// librdkafka's in-process Kafka cluster: brokers that speak the real Kafka protocol on
/// loopback TCP ports, so clients in this and other processes (kcat, a second `chatter`) use it
/// like a real cluster, with no broker installed. For development (`chatter dev-kafka`) and
/// tests, which also use its fault injection. Everything lives in memory and dies with it.
public final class KafkaMockCluster: Sendable {
    private let mock: RDKafkaMock
    /// `host:port,…` of every broker, for `bootstrap.servers` / `CHATTER_KAFKA_BROKERS`.
    public var bootstrapServers: String { mock.bootstraps }
    /// Broker ids run from 1 to this.
    public let brokerCount: Int

    public init(brokers: Int = 3, logger: Logger) throws {
        mock = try RDKafkaMock(brokers: max(1, brokers), logger: logger)
        brokerCount = max(1, brokers)
    }

    /// Creates `topic` directly in the cluster. The mock does not answer the admin API's
    /// CreateTopics; it creates a topic it is asked about with its own default of 4 partitions,
    /// so create topics here first to get the configured partitions.
    public func createTopic(_ topic: String, partitions: Int, replicationFactor: Int) throws {
        try mock.createTopic(topic, partitions: partitions, replicationFactor: min(replicationFactor, brokerCount))
    }

    /// Broker `id` stops answering: its connections close and new ones are refused.
    public func setBrokerDown(_ id: Int) throws { try mock.setBroker(id, up: false) }

    public func setBrokerUp(_ id: Int) throws { try mock.setBroker(id, up: true) }

    /// Moves the leadership of `topic`'s `partition` to broker `broker`.
    public func setLeader(topic: String, partition: Int, broker: Int) throws {
        try mock.partitionLeader(topic: topic, partition: partition, broker: broker)
    }

    /// The next `errors.count` produce requests fail with `errors`, one each, in order.
    public func failProduceRequests(with errors: [InjectedError]) {
        mock.pushRequestErrors(apiKey: 0, codes: errors.map(\.code))
    }

    /// Kafka protocol errors the mock can answer with.
    public struct InjectedError: Sendable, Hashable {
        let code: Int32
        /// Retriable: the client refreshes its metadata and resends.
        public static let notLeaderForPartition = InjectedError(code: 6)
        public static let requestTimedOut = InjectedError(code: 7)
        public static let notEnoughReplicas = InjectedError(code: 19)
        /// Not retriable (MESSAGE_TOO_LARGE): the records of the request fail.
        public static let messageTooLarge = InjectedError(code: 10)
    }
}
#endif
