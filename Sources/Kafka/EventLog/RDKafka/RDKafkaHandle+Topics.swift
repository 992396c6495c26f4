#if Kafka
import CRdKafka
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Logging

/// Cluster metadata and topic creation. These block: call them on a `BlockingQueue`.
extension RDKafkaHandle {
    /// How many brokers the cluster reports, and `topic`'s partition count when it exists
    /// (nil when unknown or still being created).
    func describe(topic: String?, timeout: Duration) throws -> (brokers: Int, partitions: Int?) {
        let topicHandle = topic.flatMap { rd_kafka_topic_new(pointer, $0, nil) }
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(pointer, 0, topicHandle, &metadata, timeout.kafkaMilliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaEventLogError(.unavailable, "metadata", rdCode: result)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let brokers = Int(metadata.pointee.broker_cnt)
        guard let topic else { return (brokers, nil) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            let known = entry.err == RD_KAFKA_RESP_ERR_NO_ERROR && entry.partition_cnt > 0
            return (brokers, known ? Int(entry.partition_cnt) : nil)
        }
        return (brokers, nil)
    }

    /// `topic`'s partition count, creating it with `partitions` × `replicationFactor` first if
    /// the cluster does not have it. A replication factor above the broker count is lowered to
    /// it: a topic that works on a small development cluster beats one that cannot be created.
    func ensureTopic(
        _ topic: String, partitions: Int, replicationFactor: Int, timeout: Duration, logger: Logger
    ) throws -> Int {
        let (brokers, existing) = try describe(topic: topic, timeout: timeout)
        if let existing { return existing }
        let replicas = max(1, min(replicationFactor, brokers))
        if replicas < replicationFactor {
            logger.warning(
                "fewer brokers than the configured replication factor; creating the topic with one replica per broker",
                metadata: [KafkaLoggingKeys.topic: "\(topic)", "replicas": "\(replicas)"])
        }
        try createTopic(topic, partitions: partitions, replicationFactor: replicas, timeout: timeout)
        // Brokers learn of a new topic asynchronously: look until its partitions show.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if let created = try describe(topic: topic, timeout: timeout).partitions { return created }
            usleep(50_000)
        }
        throw KafkaEventLogError(.topic, "\(topic) was created but has no partitions yet")
    }

    /// CreateTopics through the admin API; "already exists" (another process won) is success.
    func createTopic(_ topic: String, partitions: Int, replicationFactor: Int, timeout: Duration) throws {
        var message = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, Int32(partitions), Int32(replicationFactor), &message, message.count) else {
            throw KafkaEventLogError(.topic, "\(topic): \(string(fromCBuffer: message))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let options = rd_kafka_AdminOptions_new(pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.kafkaMilliseconds, &message, message.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.kafkaMilliseconds, &message, message.count)
        let queue = rd_kafka_queue_new(pointer)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(pointer, &topics, 1, options, queue)
        // The request has its own timeout; waiting a little longer lets its answer arrive.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(1)).kafkaMilliseconds) else {
            throw KafkaEventLogError(.unavailable, "no answer to CreateTopics for \(topic)")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaEventLogError(.topic, "create \(topic)", rdCode: eventError)
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        for index in 0..<count {
            let code = rd_kafka_topic_result_error(results[index])
            if code != RD_KAFKA_RESP_ERR_NO_ERROR && code.rawValue != RDKafkaCode.topicAlreadyExists {
                throw KafkaEventLogError(.topic, "create \(topic)", rdCode: code)
            }
        }
    }
}
#endif
