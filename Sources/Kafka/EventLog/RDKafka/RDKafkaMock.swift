#if Kafka
import CRdKafka
import Logging

/// librdkafka's mock cluster and the dummy client handle that hosts it.
final class RDKafkaMock: @unchecked Sendable {
    private let client: RDKafkaHandle
    private let cluster: OpaquePointer
    let bootstraps: String

    init(brokers: Int, logger: Logger) throws {
        let client = try RDKafkaHandle(
            kind: .producer, settings: [
                ("client.id", "chatter-mock-cluster"),
                // The host handle has no bootstrap servers, and would warn so at notice level.
                ("log_level", "4"),
            ], context: RDKafkaContext(logger: logger),
            label: "chatter.kafka.mock")
        guard let cluster = rd_kafka_mock_cluster_new(client.pointer, Int32(brokers)) else {
            throw KafkaEventLogError(.mock, "rd_kafka_mock_cluster_new failed (see the log)")
        }
        self.client = client
        self.cluster = cluster
        bootstraps = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        // Joins the cluster's thread, so not on the releasing thread: on the client's serial
        // queue, ahead of the client's own teardown (librdkafka wants the cluster gone first).
        let cluster = UncheckedCluster(pointer: self.cluster)
        client.queue.async { rd_kafka_mock_cluster_destroy(cluster.pointer) }
    }

    func createTopic(_ topic: String, partitions: Int, replicationFactor: Int) throws {
        try check(rd_kafka_mock_topic_create(cluster, topic, Int32(partitions), Int32(replicationFactor)), "create \(topic)")
    }

    func setBroker(_ id: Int, up: Bool) throws {
        let result = up ? rd_kafka_mock_broker_set_up(cluster, Int32(id)) : rd_kafka_mock_broker_set_down(cluster, Int32(id))
        try check(result, "broker \(id) \(up ? "up" : "down")")
    }

    /// The next requests of API `apiKey` (to any broker) fail with `codes`, one each, in order.
    func pushRequestErrors(apiKey: Int16, codes: [Int32]) {
        let errors = codes.map { rd_kafka_resp_err_t(rawValue: $0) }
        errors.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    func partitionLeader(topic: String, partition: Int, broker: Int) throws {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, Int32(partition), Int32(broker)), "leader of \(topic)/\(partition)")
    }

    private func check(_ result: rd_kafka_resp_err_t, _ context: String) throws {
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaEventLogError(.mock, context, rdCode: result) }
    }
}

private struct UncheckedCluster: @unchecked Sendable {
    let pointer: OpaquePointer
}
#endif
