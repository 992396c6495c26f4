#if Kafka
import ChatterCore
import Foundation
import KafkaEventLog
import Logging

/// A Kafka mock cluster for one test, and a way to start logs on it whose `run()` loops last
/// until the test's scope ends.
struct KafkaTestCluster: Sendable {
    let mock: KafkaMockCluster
    let configuration: KafkaConfiguration
    let logger: Logger
    fileprivate let started: AsyncStream<KafkaEventLog>.Continuation

    /// A new log on the cluster (a new producer: another process, or a restart), running.
    func startLog() throws -> KafkaEventLog {
        let log = try KafkaEventLog(configuration: configuration, logger: logger)
        started.yield(log)
        return log
    }
}

/// Runs `body` with a fresh mock cluster (3 brokers) holding `topics` (6 partitions, 3
/// replicas). Set `CHATTER_TEST_KAFKA_LOG=debug` (or another level) to see librdkafka's logs.
func withKafkaTestCluster(brokers: Int = 3, topics: [String], _ body: (KafkaTestCluster) async throws -> Void) async throws {
    var logger = Logger(label: "kafka-test", factory: { _ in SwiftLogNoOpLogHandler() })
    if let level = ProcessInfo.processInfo.environment["CHATTER_TEST_KAFKA_LOG"].flatMap(Logger.Level.init(rawValue:)) {
        logger = Logger(label: "kafka-test", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
    }
    let mock = try KafkaMockCluster(brokers: brokers, logger: logger)
    for topic in topics { try mock.createTopic(topic, partitions: 6, replicationFactor: 3) }
    var configuration = KafkaConfiguration(brokers: mock.bootstrapServers)
    configuration.requestTimeout = .seconds(5)
    configuration.deliveryTimeout = .seconds(20)
    let (stream, continuation) = AsyncStream.makeStream(of: KafkaEventLog.self)
    let cluster = KafkaTestCluster(mock: mock, configuration: configuration, logger: logger, started: continuation)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            await withTaskGroup(of: Void.self) { runs in
                for await log in stream {
                    runs.addTask { try? await log.run() }
                }
            }
        }
        // The poll loops stop when the group's task is cancelled.
        defer {
            continuation.finish()
            group.cancelAll()
        }
        try await body(cluster)
    }
}
#endif
