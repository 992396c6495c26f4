import ChatterCore
import PostgresNIO
import Synchronization

/// Ends the calls that the pool itself would leave waiting: a wait for a connection past its
/// deadline, and a call whose leased connection has closed under it (see
/// `PostgresStore.withConnection` for why postgres-nio can leave such a call unanswered).
///
/// One task of the store's `run()` checks every watched call each `tick`. It replaces a timer
/// task and a watch task per call: in a profile of history reads those two tasks and their two
/// sleeps took about 7% of the server's CPU. The price is precision: a timeout fires up to one tick
/// late, which is nothing next to a timeout of seconds.
final class LeaseWatchdog: Sendable {
    /// Why a watched call is ended.
    enum Expiry: Sendable { case timedOut, connectionLost }

    typealias ID = UInt64

    private struct Watch {
        /// Set while the call waits for a connection.
        var deadline: ContinuousClock.Instant?
        /// Set once the call holds a connection.
        var connection: PostgresConnection?
        /// When a tick first saw `connection` closed.
        var closedSince: ContinuousClock.Instant?
        let expire: @Sendable (Expiry) -> Void
    }

    private struct State {
        var watches: [ID: Watch] = [:]
        var nextID: ID = 0
    }

    private let state = Mutex(State())
    let tick: Duration
    /// How long a leased connection may stay closed before its call is failed: a closing
    /// connection fails its queries itself within milliseconds when it can.
    let closedGrace: Duration

    init(tick: Duration = .milliseconds(100), closedGrace: Duration = .milliseconds(500)) {
        self.tick = tick
        self.closedGrace = closedGrace
    }

    /// Watches a call that waits for a connection until `deadline`; `expire` is called at most
    /// once, outside any lock, unless `end` comes first.
    func watch(deadline: ContinuousClock.Instant, expire: @escaping @Sendable (Expiry) -> Void) -> ID {
        state.withLock { state in
            state.nextID &+= 1
            state.watches[state.nextID] = Watch(deadline: deadline, connection: nil, closedSince: nil, expire: expire)
            return state.nextID
        }
    }

    /// The call holds `connection` now: its deadline no longer applies, the connection's state does.
    func leased(_ id: ID, connection: PostgresConnection) {
        state.withLock { state in
            state.watches[id]?.deadline = nil
            state.watches[id]?.connection = connection
        }
    }

    func end(_ id: ID) {
        _ = state.withLock { $0.watches.removeValue(forKey: id) }
    }

    var watching: Int { state.withLock { $0.watches.count } }

    /// Expires what is due at `now` and returns how many calls it ended.
    @discardableResult
    func check(now: ContinuousClock.Instant = .now) -> Int {
        let due = state.withLock { state -> [(Watch, Expiry)] in
            var due: [(Watch, Expiry)] = []
            for (id, watch) in state.watches {
                if let deadline = watch.deadline, deadline <= now {
                    due.append((watch, .timedOut))
                    state.watches[id] = nil
                } else if let connection = watch.connection, connection.isClosed {
                    let since = watch.closedSince ?? now
                    if now - since >= closedGrace {
                        due.append((watch, .connectionLost))
                        state.watches[id] = nil
                    } else {
                        state.watches[id]?.closedSince = since
                    }
                } else if watch.closedSince != nil {
                    state.watches[id]?.closedSince = nil
                }
            }
            return due
        }
        for (watch, expiry) in due { watch.expire(expiry) }
        return due.count
    }

    /// Checks every `tick` until cancelled.
    func run() async {
        for await _ in Ticks(every: tick) { check() }
    }
}
