import Synchronization

/// Ended spans waiting for export. Bounded: when it is full a span is dropped and counted, so
/// ending a span never blocks and never grows memory without limit. One consumer (the batch
/// exporter) waits in ``waitForBatch()`` until a full batch is queued or the queue is closed.
public final class SpanQueue: Sendable {
    private struct State {
        var spans: [SpanRecord] = []
        var dropped: UInt64 = 0
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Set when the waiting task was cancelled before it could park, so it returns at once.
        var waiterCancelled = false
    }

    public let capacity: Int
    public let batchSize: Int
    private let state = Mutex(State())

    public init(capacity: Int, batchSize: Int) {
        precondition(capacity > 0 && batchSize > 0, "queue capacity and batch size must be positive")
        self.capacity = capacity
        self.batchSize = min(batchSize, capacity)
    }

    /// Queues `span`, or drops and counts it when the queue is full or closed.
    public func enqueue(_ span: SpanRecord) {
        let wake: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard !state.closed, state.spans.count < capacity else {
                state.dropped &+= 1
                return nil
            }
            state.spans.append(span)
            guard state.spans.count >= batchSize else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        wake?.resume()
    }

    /// Spans dropped so far because the queue was full (or closed).
    public var droppedCount: UInt64 { state.withLock { $0.dropped } }

    public var count: Int { state.withLock { $0.spans.count } }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Up to `batchSize` of the oldest spans, removed from the queue.
    func takeBatch() -> [SpanRecord] {
        state.withLock { state in
            let count = min(batchSize, state.spans.count)
            let batch = Array(state.spans.prefix(count))
            state.spans.removeFirst(count)
            return batch
        }
    }

    /// Everything still queued, removed (what a shutdown deadline left behind).
    func takeAll() -> [SpanRecord] {
        state.withLock { state in
            defer { state.spans = [] }
            return state.spans
        }
    }

    /// Refuses further spans and wakes the consumer so it can send what is left.
    func close() {
        let wake: CheckedContinuation<Void, Never>? = state.withLock { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        wake?.resume()
    }

    /// Returns once a full batch is queued, the queue is closed, or the task is cancelled.
    func waitForBatch() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.closed || state.spans.count >= batchSize || state.waiterCancelled {
                        state.waiterCancelled = false
                        return true
                    }
                    precondition(state.waiter == nil, "SpanQueue has one consumer")
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                guard let waiter = state.waiter else {
                    state.waiterCancelled = true
                    return nil
                }
                state.waiter = nil
                return waiter
            }
            waiter?.resume()
        }
    }
}
