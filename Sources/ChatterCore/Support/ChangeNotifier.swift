import NIOCore
import NIOPosix
import Synchronization

/// Wakes every task waiting for "something new" (an outbox commit, a log append) without
/// polling.
///
/// Waiters read `generation` before they look for work and then wait `since` it, so a change
/// that lands between the look and the wait is never missed, however many waiters there are.
///
/// Timeouts are swept by one event-loop timer per notifier, not a timer per wait. Why: a wait
/// used to race a `Task.sleep` in a task group, so every wait cost two child tasks and a
/// Dispatch timer armed and cancelled on Dispatch's timer thread. The relay and the log tail
/// wait once per commit, the load generator once per send; in a profile of `chatter load`
/// that timer traffic was a fifth of its CPU. A timeout may end up to `timeout / 8` (at most
/// 10 ms) late, which every caller can afford: the timeouts are safety nets, not schedules.
public final class ChangeNotifier: Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<Void, Never>
        let deadline: NIODeadline
    }

    private struct State {
        var generation: UInt64 = 0
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
        /// When the live sweep runs, if one is scheduled. A sweep scheduled for another time
        /// finds it superseded and does nothing.
        var sweepAt: NIODeadline?
    }

    private let state = Mutex(State())
    private let loop: any EventLoop

    public init() {
        self.loop = MultiThreadedEventLoopGroup.singleton.any()
    }

    public var generation: UInt64 { state.withLock { $0.generation } }

    public func notify() {
        let waiters = state.withLock { state -> [Waiter] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Returns once `generation` has moved past `since`, after `timeout`, or on cancellation.
    public func wait(since: UInt64, timeout: Duration) async {
        let slack = min(TimeAmount.nanoseconds(TimeAmount(timeout).nanoseconds / 8), .milliseconds(10))
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        // A sweep due by then serves this waiter too; one later than that does not.
        let latestSweep = deadline + slack
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (resumeNow, sweep) = state.withLock { state -> (Bool, NIODeadline?) in
                    if state.generation != since || Task.isCancelled { return (true, nil) }
                    state.waiters[id] = Waiter(continuation: continuation, deadline: deadline)
                    if let scheduled = state.sweepAt, scheduled <= latestSweep { return (false, nil) }
                    state.sweepAt = latestSweep
                    return (false, latestSweep)
                }
                if resumeNow { continuation.resume() }
                if let sweep { schedule(sweepAt: sweep) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    private func schedule(sweepAt: NIODeadline) {
        loop.scheduleTask(deadline: sweepAt) { self.sweep(scheduledFor: sweepAt) }
    }

    /// Ends the waits whose timeout has passed and schedules the next sweep, if anyone waits.
    private func sweep(scheduledFor: NIODeadline) {
        let now = NIODeadline.now()
        let (expired, next) = state.withLock { state -> ([CheckedContinuation<Void, Never>], NIODeadline?) in
            guard state.sweepAt == scheduledFor else { return ([], nil) }
            var expired: [CheckedContinuation<Void, Never>] = []
            var remaining: [Int: Waiter] = [:]
            var earliest: NIODeadline?
            for (id, waiter) in state.waiters {
                if waiter.deadline <= now {
                    expired.append(waiter.continuation)
                } else {
                    remaining[id] = waiter
                    earliest = min(earliest ?? waiter.deadline, waiter.deadline)
                }
            }
            if !expired.isEmpty { state.waiters = remaining }
            state.sweepAt = earliest.map { $0 + .milliseconds(1) }
            return (expired, state.sweepAt)
        }
        for continuation in expired { continuation.resume() }
        if let next { schedule(sweepAt: next) }
    }
}
