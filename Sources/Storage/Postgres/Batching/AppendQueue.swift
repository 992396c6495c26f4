import ChatterCore
import Synchronization

/// Sends waiting for a batch transaction, and the store's committers waiting for sends.
///
/// No timer and no delay: a committer that is free takes everything waiting at once, so at low
/// load a batch is one send that starts at once, and under load the sends that arrived during
/// the previous commit (its round trips and its fsync) share the next one.
final class AppendQueue: Sendable {
    struct Entry: Sendable {
        let message: NewMessage
        /// The sender's trace, carried by the outbox row to the relay and the consumers.
        let traceparent: String?
        let reply: CheckedContinuation<AppendResult, any Error>
        let queuedAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Entry] = []
        var idleCommitters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// Sends waiting for a committer.
    var waiting: Int { state.withLock { $0.entries.count } }

    /// Waits for the batch that carries `message` to commit (or fail).
    func submit(_ message: NewMessage, traceparent: String?) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { reply in
            let (accepted, committer) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !state.closed else { return (false, nil) }
                state.entries.append(Entry(message: message, traceparent: traceparent, reply: reply, queuedAt: .now))
                return (true, state.idleCommitters.popLast())
            }
            guard accepted else {
                return reply.resume(throwing: ChatterError.unavailable("database", detail: "the store has shut down"))
            }
            committer?.resume()
        }
    }

    /// The next batch: up to `limit` waiting sends, oldest first, once there is at least one;
    /// nil once the queue is closed.
    ///
    /// A send that has waited longer than `maxWait` is answered 503 here instead: while the
    /// database is slow or gone, batches take up to the acquire timeout each, and a long queue
    /// behind them would otherwise wait many timeouts for its answer. None of those was written.
    func next(limit: Int, maxWait: Duration) async -> [Entry]? {
        while true {
            let cutoff = ContinuousClock.now - maxWait
            let (batch, expired) = state.withLock { state -> ([Entry]??, [Entry]) in
                if state.closed { return (.some(nil), []) }
                let stale = state.entries.prefix { $0.queuedAt < cutoff }.count
                let expired = Array(state.entries.prefix(stale))
                state.entries.removeFirst(stale)
                guard !state.entries.isEmpty else { return (nil, expired) }
                let count = min(limit, state.entries.count)
                defer { state.entries.removeFirst(count) }
                return (.some(Array(state.entries.prefix(count))), expired)
            }
            for entry in expired {
                entry.reply.resume(throwing: ChatterError.unavailable("database", detail: "the send waited \(maxWait) for a batch"))
            }
            if let batch { return batch }
            await withCheckedContinuation { (committer: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.closed || !state.entries.isEmpty { return true }
                    state.idleCommitters.append(committer)
                    return false
                }
                if ready { committer.resume() }
            }
        }
    }

    /// Refuses new sends, fails the waiting ones with 503 (none of them was written) and lets
    /// the committers return.
    func close() {
        let (entries, committers) = state.withLock { state in
            state.closed = true
            defer {
                state.entries.removeAll()
                state.idleCommitters.removeAll()
            }
            return (state.entries, state.idleCommitters)
        }
        for entry in entries {
            entry.reply.resume(throwing: ChatterError.unavailable("database", detail: "the store shut down before the send was written"))
        }
        for committer in committers { committer.resume() }
    }
}
