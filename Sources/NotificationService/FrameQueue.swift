import Synchronization

/// A bounded queue of outgoing text frames with one consumer (the connection's writer).
///
/// Producers never wait: when a slow client lets `capacity` frames pile up, `push` fails and
/// the connection is closed with "reconnect and sync" instead of buffering without bound or
/// slowing down the fan-out to everyone else.
final class FrameQueue: Sendable {
    private struct State {
        var frames: [String] = []
        var head = 0
        var waiter: CheckedContinuation<String?, Never>?
        var finished = false
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues `frame`; false when the queue is full or finished (the frame is dropped).
    func push(_ frame: String) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<String?, Never>?) in
            guard !state.finished else { return (false, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            guard state.frames.count - state.head < capacity else { return (false, nil) }
            state.frames.append(frame)
            return (true, nil)
        }
        waiter?.resume(returning: frame)
        return accepted
    }

    /// The next frame; nil once the queue is finished and empty (a forced finish empties it).
    func next() async -> String? {
        await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            let ready = state.withLock { state -> String?? in
                if state.head < state.frames.count {
                    let frame = state.frames[state.head]
                    state.head += 1
                    if state.head == state.frames.count {
                        state.frames.removeAll(keepingCapacity: state.frames.count <= 64)
                        state.head = 0
                    }
                    return .some(frame)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Stops accepting frames; `dropPending` discards what is queued (the client will sync).
    func finish(dropPending: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<String?, Never>? in
            state.finished = true
            if dropPending {
                state.frames.removeAll()
                state.head = 0
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
