#if Kafka
import ChatterCore
import KafkaEventLog
import ServiceLifecycle
import Testing

@Suite(.timeLimit(.minutes(1))) struct KafkaShutdownTests {
    @Test func gracefulShutdownDeliversRecordsInFlightThenRefusesPublishes() async throws {
        let topic = "shutdown"
        try await withKafkaTestCluster(topics: [topic]) { cluster in
            let log = try KafkaEventLog(configuration: cluster.configuration, logger: cluster.logger)
            try await log.ensureTopic(topic)
            let events = (0..<6).map { OutgoingEvent(topic: topic, key: "chat-\($0)", payload: "in flight \($0)") }
            let services = ServiceGroup(configuration: .init(services: [log], gracefulShutdownSignals: [], logger: cluster.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await services.run() }
                // With every broker down the records wait in librdkafka's queue.
                for broker in 1...cluster.mock.brokerCount { try cluster.mock.setBrokerDown(broker) }
                tasks.addTask { try await log.publish(events) }
                while log.pendingRecords < events.count { try await Task.sleep(for: .milliseconds(10)) }
                await services.triggerGracefulShutdown()
                for broker in 1...cluster.mock.brokerCount { try cluster.mock.setBrokerUp(broker) }
                // The publish succeeds (run() flushed before returning), and run() returns.
                try await tasks.waitForAll()
            }
            let refused = await #expect(throws: KafkaEventLogError.self) { try await log.publish(events) }
            #expect(refused?.code == .shutDown)
            let subscription = try await log.subscribe(topic: topic, group: "g", start: .earliest)
            var records: [EventRecord] = []
            while records.count < events.count { records += try await subscription.next(maxRecords: 100) }
            #expect(Set(records.map(\.payload)) == Set(events.map(\.payload)))
        }
    }
}
#endif
