/// The connection pool's bookkeeping, free of I/O: every event returns what to do, and the
/// caller does it outside the lock. Generic over the connection and waiter types so that tests
/// drive it with plain values.
///
/// Rules: a caller gets an idle connection if there is one. If every live connection is busy
/// it shares the one with the fewest calls in flight — connections pipeline, and the calls
/// through the pool are independent commands — and one more connection is opened while under
/// `maximumConnections`. Only with no live connection at all does a caller wait (for the
/// connection opened for it). Waiting costs a hand-off between threads per call, which under
/// load was a fifth of a cached history read's CPU. After a failed connect the
/// pool backs off: callers that no live connection can serve fail at once with
/// ``RedisError/Code/unavailable``, while one retry at a time runs after an exponentially
/// growing delay, until a connect succeeds.
struct PoolStateMachine<Connection, Waiter> {
    enum LeaseResult {
        case leased(Connection)
        /// Every live connection was busy: this one is shared; open connection `connect` too if set.
        case shared(Connection, connect: Int?)
        case failed(RedisError)
        /// The waiter is queued; start connection `connect` (with no delay) if it is set.
        case wait(connect: Int?)
    }

    struct Actions {
        var lease: [(Connection, Waiter)] = []
        var fail: [(Waiter, RedisError)] = []
        /// Connections to open, with their ids, after the given delay.
        var connect: [(id: Int, delay: Duration?)] = []
        var close: [Connection] = []
    }

    let maximumConnections: Int
    let backoff: Backoff
    private var idle: [(id: Int, connection: Connection)] = []
    /// Connections with calls in flight, and how many.
    private var leased: [Int: (connection: Connection, calls: Int)] = [:]
    /// Connect attempts running or scheduled.
    private var connecting = 0
    private var waiters: [(id: Int, waiter: Waiter)] = []
    /// Connect attempts failed in a row; above zero the pool is backing off.
    private(set) var failures = 0
    private var lastError: (any Error)?
    private(set) var isShutDown = false
    private var nextConnectionID = 1

    init(maximumConnections: Int, backoff: Backoff) {
        self.maximumConnections = maximumConnections
        self.backoff = backoff
    }

    var idleCount: Int { idle.count }
    var leasedCount: Int { leased.count }
    var waiterCount: Int { waiters.count }

    /// A caller wants a connection. Idle ones that `isUsable` rejects are dropped on the way.
    mutating func lease(waiterID: Int, waiter: Waiter, isUsable: (Connection) -> Bool) -> LeaseResult {
        if let ready = leaseWithoutWaiting(isUsable: isUsable) { return ready }
        waiters.append((waiterID, waiter))
        return .wait(connect: connectIfNeeded())
    }

    /// `lease` for a caller that has not made a waiter yet: `nil` when it would have to wait.
    mutating func leaseWithoutWaiting(isUsable: (Connection) -> Bool) -> LeaseResult? {
        if isShutDown { return .failed(RedisError(.shutDown, "the Redis client is not running")) }
        while let (id, connection) = idle.popLast() {
            guard isUsable(connection) else { continue }
            leased[id] = (connection, 1)
            return .leased(connection)
        }
        if let id = leastBusy(isUsable: isUsable), let entry = leased[id] {
            leased[id] = (entry.connection, entry.calls + 1)
            return .shared(entry.connection, connect: growIfAllBusy())
        }
        if failures > 0 && leased.isEmpty {
            return .failed(RedisError(.unavailable, "Redis is unreachable; reconnecting in the background", underlying: lastError))
        }
        return nil
    }

    /// A waiter gave up (timed out or was cancelled); returns it unless it was already served.
    mutating func removeWaiter(id: Int) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).waiter
    }

    mutating func connectionEstablished(id: Int, _ connection: Connection) -> Actions {
        connecting -= 1
        failures = 0
        lastError = nil
        var actions = Actions()
        if isShutDown {
            actions.close.append(connection)
        } else {
            hand(connection, id: id, into: &actions)
        }
        return actions
    }

    mutating func connectionFailed(_ error: any Error) -> Actions {
        connecting -= 1
        var actions = Actions()
        guard !isShutDown else { return actions }
        failures += 1
        lastError = error
        if leased.isEmpty && idle.isEmpty {
            let failure = RedisError(.unavailable, "could not connect to Redis", underlying: error)
            actions.fail = waiters.map { ($0.waiter, failure) }
            waiters.removeAll()
        }
        if connecting == 0 {
            connecting += 1
            actions.connect.append((takeConnectionID(), backoff.delay(afterFailures: failures)))
        }
        return actions
    }

    /// A caller is done with a connection; `isUsable` is false once it has closed or timed out.
    mutating func release(id: Int, _ connection: Connection, isUsable: Bool) -> Actions {
        var actions = Actions()
        guard let entry = leased[id] else { return actions }
        if entry.calls > 1 {
            leased[id] = (entry.connection, entry.calls - 1)
            return actions
        }
        leased[id] = nil
        if isShutDown {
            actions.close.append(connection)
        } else if isUsable {
            hand(connection, id: id, into: &actions)
        } else if let id = connectIfNeeded() {
            actions.connect.append((id, nil))
        }
        return actions
    }

    /// An idle connection's channel closed (Redis went away, say).
    mutating func connectionClosed(id: Int) {
        idle.removeAll { $0.id == id }
    }

    /// Fails every waiter and closes every connection, idle or leased (a leased one once its
    /// commands in flight are answered). Later leases fail with ``RedisError/Code/shutDown``.
    mutating func shutdown() -> Actions {
        var actions = Actions()
        guard !isShutDown else { return actions }
        isShutDown = true
        let error = RedisError(.shutDown, "the Redis client shut down")
        actions.fail = waiters.map { ($0.waiter, error) }
        waiters.removeAll()
        actions.close = idle.map(\.connection) + leased.values.map(\.connection)
        idle.removeAll()
        return actions
    }

    /// A connection free of calls (new, or released by its last caller) serves every waiter at
    /// once, or goes idle.
    private mutating func hand(_ connection: Connection, id: Int, into actions: inout Actions) {
        if waiters.isEmpty {
            idle.append((id, connection))
        } else {
            leased[id] = (connection, waiters.count)
            actions.lease += waiters.map { (connection, $0.waiter) }
            waiters.removeAll()
        }
    }

    /// The usable leased connection with the fewest calls in flight.
    private func leastBusy(isUsable: (Connection) -> Bool) -> Int? {
        var best: (id: Int, calls: Int)?
        for (id, entry) in leased where entry.calls < (best?.calls ?? .max) && isUsable(entry.connection) {
            best = (id, entry.calls)
        }
        return best?.id
    }

    /// Claims a new connection's id when callers had to share and there is room (and no other
    /// connect is under way, and the pool is not backing off).
    private mutating func growIfAllBusy() -> Int? {
        guard failures == 0, connecting == 0, idle.count + leased.count < maximumConnections else { return nil }
        connecting += 1
        return takeConnectionID()
    }

    /// Claims a new connection's id if waiters outnumber the connects under way, there is room,
    /// and the pool is not backing off (then the retry loop is the only one connecting).
    private mutating func connectIfNeeded() -> Int? {
        guard failures == 0, connecting < waiters.count,
              idle.count + leased.count + connecting < maximumConnections else { return nil }
        connecting += 1
        return takeConnectionID()
    }

    private mutating func takeConnectionID() -> Int {
        defer { nextConnectionID += 1 }
        return nextConnectionID
    }
}
