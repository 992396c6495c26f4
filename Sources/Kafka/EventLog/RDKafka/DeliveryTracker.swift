#if Kafka
import Synchronization

/// Matches librdkafka's delivery reports to the `publish` calls waiting for them. Each call is
/// a batch with a number (passed to librdkafka as every record's opaque pointer) and a count of
/// records still unacknowledged; the call resumes when the count reaches zero, with the first
/// failure if any record failed.
final class DeliveryTracker: Sendable {
    private struct Batch {
        var remaining: Int
        var failure: KafkaEventLogError?
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        /// Starts at 1: a zero opaque would read as "no batch".
        var nextID: UInt = 1
        var batches: [UInt: Batch] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// A number for a batch of `count` records, or nil (and `continuation` resumed with an
    /// error) once the log has shut down.
    func register(count: Int, continuation: CheckedContinuation<Void, any Error>) -> UInt? {
        let id: UInt? = state.withLock { state in
            guard !state.closed else { return nil }
            let id = state.nextID
            state.nextID &+= 1
            state.batches[id] = Batch(remaining: count, continuation: continuation)
            return id
        }
        if id == nil { continuation.resume(throwing: KafkaEventLogError(.shutDown, "the log has shut down")) }
        return id
    }

    /// One record of `batch` was acknowledged (failure nil) or given up on.
    func delivered(batch: UInt, failure: KafkaEventLogError?) {
        settle(batch: batch, records: 1, failure: failure)
    }

    /// `records` of `batch` never reached librdkafka's queue, so no report will come for them.
    func abandon(batch: UInt, records: Int, failure: KafkaEventLogError) {
        settle(batch: batch, records: records, failure: failure)
    }

    /// Refuses new batches and fails those still waiting (after the final flush).
    func close() {
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.batches = [:] }
            return state.batches.values.map(\.continuation)
        }
        for continuation in waiting {
            continuation.resume(throwing: KafkaEventLogError(.shutDown, "the log shut down before the brokers acknowledged"))
        }
    }

    private func settle(batch id: UInt, records: Int, failure: KafkaEventLogError?) {
        let finished: Batch? = state.withLock { state in
            guard var batch = state.batches[id] else { return nil }
            batch.remaining -= records
            if batch.failure == nil { batch.failure = failure }
            if batch.remaining > 0 {
                state.batches[id] = batch
                return nil
            }
            state.batches[id] = nil
            return batch
        }
        guard let finished else { return }
        if let failure = finished.failure {
            finished.continuation.resume(throwing: failure)
        } else {
            finished.continuation.resume()
        }
    }
}
#endif
