import Synchronization

/// Decides, exactly once, whether a lease came in time, failed, or the wait timed out.
final class LeaseRace: Sendable {
    enum Outcome { case pending, acquired, failed, timedOut }
    struct TimedOut: Error {}
    /// The leased connection closed under a call.
    struct ConnectionLost: Error {}

    private struct State {
        var outcome = Outcome.pending
        var lease: Task<Void, Never>?
    }

    private let state = Mutex(State())

    /// True when `outcome` is the first one claimed.
    func claim(_ outcome: Outcome) -> Bool {
        state.withLock { state in
            guard case .pending = state.outcome else { return false }
            state.outcome = outcome
            return true
        }
    }

    var isAcquired: Bool { state.withLock { if case .acquired = $0.outcome { true } else { false } } }

    /// Whether the wait was given up before a lease was even asked for: only cancellation
    /// claims `timedOut` before `withConnection` has registered the call with the watchdog.
    var isCancelledEarly: Bool { state.withLock { if case .timedOut = $0.outcome { true } else { false } } }

    func setLease(_ task: Task<Void, Never>) {
        let cancel = state.withLock { state -> Bool in
            state.lease = task
            if case .timedOut = state.outcome { return true }
            return false
        }
        if cancel { task.cancel() }
    }

    func cancelLease() {
        state.withLock { $0.lease }?.cancel()
    }
}

/// Resumes a continuation at most once.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        let continuation = self.continuation.withLock { value -> CheckedContinuation<T, any Error>? in
            defer { value = nil }
            return value
        }
        continuation?.resume(with: result)
    }
}

/// Gauges of the pool as calls see it: waiting for a connection, or holding one.
final class PoolUsage: Sendable {
    let leased = Atomic<Int>(0)
    let waiting = Atomic<Int>(0)

    /// One call's wait; whoever ends it first (lease, timeout, failure, cancellation) counts it.
    final class Wait: Sendable {
        let open = Atomic<Bool>(true)
    }

    func startWaiting() -> Wait {
        waiting.add(1, ordering: .relaxed)
        return Wait()
    }

    func endWaiting(_ wait: Wait) {
        if wait.open.exchange(false, ordering: .relaxed) { waiting.subtract(1, ordering: .relaxed) }
    }
}
