#if Kafka
import ChatterCore
import KafkaEventLog
import Testing

/// The Kafka adapter under the mock cluster's fault injection: whatever `publish` acknowledged
/// is read back exactly once, in publish order per key.
@Suite(.timeLimit(.minutes(1))) struct KafkaFaultTests {
    static let topic = "faults"
    /// Enough keys that every broker leads a partition some of them land in.
    static let keys = (0..<16).map { "chat-\($0)" }

    func round(_ round: Int) -> [OutgoingEvent] {
        Self.keys.map { key in
            OutgoingEvent(topic: Self.topic, key: key, payload: "\(key)#\(round)", headers: [EventHeader.seq: "\(round)"])
        }
    }

    /// Reads until `count` records arrived, then checks them against `acknowledged`.
    func expectExactlyOnceInOrder(_ log: any EventLog, acknowledged: [OutgoingEvent]) async throws {
        let subscription = try await log.subscribe(topic: Self.topic, group: "checker", start: .earliest)
        var records: [EventRecord] = []
        while records.count < acknowledged.count { records += try await subscription.next(maxRecords: 500) }
        #expect(records.count == acknowledged.count, "nothing duplicated")
        #expect(Set(records.map(\.payload)) == Set(acknowledged.map(\.payload)), "nothing lost")
        for key in Self.keys {
            let rounds = records.filter { $0.key == key }.compactMap { $0.headers[EventHeader.seq].flatMap { Int($0) } }
            #expect(rounds == rounds.sorted(), "order of \(key)")
        }
        #expect(Set(records.map(\.partition)).count > 3, "the keys are spread over the brokers")
    }

    @Test func aBrokerDownForAWhileDuringPublishingLosesNothing() async throws {
        try await withKafkaTestCluster(topics: [Self.topic]) { cluster in
            let log = try cluster.startLog()
            var acknowledged: [OutgoingEvent] = []
            for number in 0..<5 {
                try await log.publish(round(number))
                acknowledged += round(number)
            }
            try cluster.mock.setBrokerDown(1)
            // Publishes to partitions led by broker 1 wait for it; it comes back meanwhile.
            let during: [OutgoingEvent] = try await withThrowingTaskGroup(of: [OutgoingEvent].self) { group in
                group.addTask {
                    var published: [OutgoingEvent] = []
                    for number in 5..<15 {
                        try await log.publish(round(number))
                        published += round(number)
                    }
                    return published
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(1))
                    try cluster.mock.setBrokerUp(1)
                    return []
                }
                var published: [OutgoingEvent] = []
                for try await batch in group { published += batch }
                return published
            }
            acknowledged += during
            for number in 15..<20 {
                try await log.publish(round(number))
                acknowledged += round(number)
            }
            try await expectExactlyOnceInOrder(log, acknowledged: acknowledged)
        }
    }

    @Test func injectedProduceErrorsAreRetriedWithoutDuplicates() async throws {
        try await withKafkaTestCluster(topics: [Self.topic]) { cluster in
            let log = try cluster.startLog()
            var acknowledged: [OutgoingEvent] = []
            for number in 0..<10 {
                if number % 3 == 0 {
                    cluster.mock.failProduceRequests(with: [.notLeaderForPartition, .requestTimedOut, .notEnoughReplicas])
                }
                try await log.publish(round(number))
                acknowledged += round(number)
            }
            try await expectExactlyOnceInOrder(log, acknowledged: acknowledged)
        }
    }

    @Test func aRecordTheBrokerRefusesFailsItsPublish() async throws {
        try await withKafkaTestCluster(topics: [Self.topic]) { cluster in
            let log = try cluster.startLog()
            let refused = [OutgoingEvent(topic: Self.topic, key: "chat-0", payload: "refused")]
            cluster.mock.failProduceRequests(with: [.messageTooLarge])
            let error = await #expect(throws: KafkaEventLogError.self) { try await log.publish(refused) }
            #expect(error?.code == .delivery)
            // The producer carries on.
            let accepted = [OutgoingEvent(topic: Self.topic, key: "chat-0", payload: "accepted")]
            try await log.publish(accepted)
            let subscription = try await log.subscribe(topic: Self.topic, group: "g", start: .earliest)
            #expect(try await subscription.next(maxRecords: 10).map(\.payload) == ["accepted"])
        }
    }

    @Test func aRestartedSubscriptionResumesAfterItsCommits() async throws {
        try await withKafkaTestCluster(topics: [Self.topic]) { cluster in
            let log = try cluster.startLog()
            try await log.publish(round(0))
            var first: [EventRecord] = []
            do {
                let subscription = try await log.subscribe(topic: Self.topic, group: "resume", start: .earliest)
                while first.count < Self.keys.count { first += try await subscription.next(maxRecords: 100) }
                try await subscription.commit(first)
                // Committing older records again does not move the group back.
                try await subscription.commit(Array(first.prefix(1)))
            }
            try await log.publish(round(1))
            let resumed = try await log.subscribe(topic: Self.topic, group: "resume", start: .earliest)
            var second: [EventRecord] = []
            while second.count < Self.keys.count { second += try await resumed.next(maxRecords: 100) }
            #expect(Set(second.map(\.payload)) == Set(round(1).map(\.payload)), "only what came after the commit")
        }
    }

    @Test func pingAnswersOnlyWhileABrokerIsReachable() async throws {
        try await withKafkaTestCluster(topics: [Self.topic]) { cluster in
            try await cluster.startLog().ping()
            var unreachable = cluster.configuration
            unreachable.brokers = "127.0.0.1:1"
            unreachable.requestTimeout = .milliseconds(500)
            let log = try KafkaEventLog(configuration: unreachable, logger: cluster.logger)
            await #expect(throws: KafkaEventLogError.self) { try await log.ping() }
        }
    }
}
#endif
