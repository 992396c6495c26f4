#if Kafka
@testable import KafkaEventLog
import Testing

@Suite struct DeliveryTrackerTests {
    /// Registers a batch of `count`, lets `report` settle it, and returns how the publish ended.
    func outcome(_ tracker: DeliveryTracker, count: Int, _ report: (UInt) -> Void) async -> KafkaEventLogError? {
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if let batch = tracker.register(count: count, continuation: continuation) { report(batch) }
            }
            return nil
        } catch {
            return error as? KafkaEventLogError
        }
    }

    @Test func aBatchSucceedsWhenEveryRecordIsAcknowledged() async {
        let tracker = DeliveryTracker()
        let failure = await outcome(tracker, count: 3) { batch in
            for _ in 0..<3 { tracker.delivered(batch: batch, failure: nil) }
        }
        #expect(failure == nil)
    }

    @Test func theFirstFailureIsReportedOnceAllRecordsAreSettled() async {
        let tracker = DeliveryTracker()
        let failure = await outcome(tracker, count: 3) { batch in
            tracker.delivered(batch: batch, failure: KafkaEventLogError(.delivery, "first"))
            tracker.delivered(batch: batch, failure: nil)
            tracker.delivered(batch: batch, failure: KafkaEventLogError(.delivery, "second"))
        }
        #expect(failure?.reason == "first")
    }

    @Test func recordsThatNeverReachedTheQueueCountAsSettled() async {
        let tracker = DeliveryTracker()
        let failure = await outcome(tracker, count: 5) { batch in
            tracker.delivered(batch: batch, failure: nil)
            tracker.delivered(batch: batch, failure: nil)
            tracker.abandon(batch: batch, records: 3, failure: KafkaEventLogError(.delivery, "queue full"))
        }
        #expect(failure?.reason == "queue full")
    }

    @Test func closingFailsWaitingBatchesAndRefusesNewOnes() async {
        let tracker = DeliveryTracker()
        let waiting = await outcome(tracker, count: 2) { batch in
            tracker.delivered(batch: batch, failure: nil)
            tracker.close()
            // A report after the close finds nothing to settle.
            tracker.delivered(batch: batch, failure: nil)
        }
        #expect(waiting?.code == .shutDown)
        let refused = await outcome(tracker, count: 1) { _ in }
        #expect(refused?.code == .shutDown)
    }
}
#endif
