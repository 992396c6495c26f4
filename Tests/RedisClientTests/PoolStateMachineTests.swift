import Testing

@testable import RedisClient

/// The pool's rules, with strings for connections and integers for waiters.
@Suite("Pool state machine")
struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String, Int>

    private func machine(maximum: Int = 2) -> Machine {
        Machine(maximumConnections: maximum, backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1)))
    }

    private func connectID(_ result: Machine.LeaseResult) -> Int? {
        if case .wait(let id?) = result { return id }
        return nil
    }

    @Test func firstLeaseOpensAConnectionAndHandsItOver() {
        var pool = machine()
        let id = connectID(pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true }))
        #expect(id != nil)
        let actions = pool.connectionEstablished(id: id!, "c1")
        #expect(actions.lease.map(\.0) == ["c1"] && actions.lease.map(\.1) == [1])
        #expect(pool.leasedCount == 1)

        let released = pool.release(id: id!, "c1", isUsable: true)
        #expect(released.lease.isEmpty && pool.idleCount == 1)
        guard case .leased("c1") = pool.lease(waiterID: 2, waiter: 2, isUsable: { _ in true }) else {
            Issue.record("an idle connection should be reused")
            return
        }
    }

    @Test func neverOpensMoreThanTheMaximum() {
        var pool = machine(maximum: 2)
        let results = (1...5).map { pool.lease(waiterID: $0, waiter: $0, isUsable: { _ in true }) }
        #expect(results.compactMap(connectID).count == 2)
        #expect(pool.waiterCount == 5)
        // The first connection up serves every waiter at once; the second goes idle.
        let first = pool.connectionEstablished(id: 1, "c1")
        #expect(first.lease.map(\.0) == Array(repeating: "c1", count: 5) && first.lease.map(\.1) == [1, 2, 3, 4, 5])
        #expect(pool.connectionEstablished(id: 2, "c2").lease.isEmpty && pool.idleCount == 1)
        // Busy or not, no third connection is opened.
        for waiter in 6...9 {
            switch pool.lease(waiterID: waiter, waiter: waiter, isUsable: { _ in true }) {
            case .leased, .shared(_, connect: nil): break
            default: Issue.record("lease \(waiter) should have been served by one of the two connections")
            }
        }
    }

    @Test func busyConnectionsAreSharedRatherThanWaitedFor() {
        var pool = machine(maximum: 2)
        let first = connectID(pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true }))
        _ = pool.connectionEstablished(id: first!, "c1")
        // c1 is busy: the next caller shares it at once, and one more connection is opened.
        guard case .shared("c1", let grow?) = pool.lease(waiterID: 2, waiter: 2, isUsable: { _ in true }) else {
            Issue.record("a busy connection should be shared, and the pool grown")
            return
        }
        guard case .shared("c1", connect: nil) = pool.lease(waiterID: 3, waiter: 3, isUsable: { _ in true }) else {
            Issue.record("one connect at a time")
            return
        }
        #expect(pool.waiterCount == 0)
        #expect(pool.connectionEstablished(id: grow, "c2").lease.isEmpty)
        guard case .leased("c2") = pool.lease(waiterID: 4, waiter: 4, isUsable: { _ in true }) else {
            Issue.record("an idle connection comes first")
            return
        }
        // At the maximum, the least busy connection is shared: c2 (1 call), not c1 (3).
        guard case .shared("c2", connect: nil) = pool.lease(waiterID: 5, waiter: 5, isUsable: { _ in true }) else {
            Issue.record("the least busy connection should be shared")
            return
        }
        // A shared connection goes idle only when its last caller is done.
        for _ in 1...2 { #expect(pool.release(id: 1, "c1", isUsable: true).lease.isEmpty) }
        #expect(pool.idleCount == 0 && pool.leasedCount == 2)
        _ = pool.release(id: 1, "c1", isUsable: true)
        #expect(pool.idleCount == 1 && pool.leasedCount == 1)
    }

    @Test func anUnusableConnectionIsNeverShared() {
        var pool = machine(maximum: 2)
        _ = pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true })
        _ = pool.connectionEstablished(id: 1, "timed-out")
        #expect(connectID(pool.lease(waiterID: 2, waiter: 2, isUsable: { $0 != "timed-out" })) != nil)
        #expect(pool.waiterCount == 1)
    }

    @Test func deadIdleConnectionsAreSkipped() {
        var pool = machine()
        _ = pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true })
        _ = pool.connectionEstablished(id: 1, "dead")
        _ = pool.release(id: 1, "dead", isUsable: true)
        let result = pool.lease(waiterID: 2, waiter: 2, isUsable: { $0 != "dead" })
        #expect(connectID(result) != nil)
        #expect(pool.idleCount == 0)
    }

    @Test func unusableReleaseReplacesTheConnectionForWaiters() {
        var pool = machine(maximum: 1)
        _ = pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true })
        _ = pool.connectionEstablished(id: 1, "c1")
        // c1 has timed out: the caller waits, and no connection beyond the maximum is opened.
        #expect(connectID(pool.lease(waiterID: 2, waiter: 2, isUsable: { $0 != "c1" })) == nil)
        let actions = pool.release(id: 1, "c1", isUsable: false)
        #expect(actions.connect.count == 1 && actions.connect.first?.delay == nil)
    }

    @Test func failedConnectFailsWaitersAndSchedulesOneRetry() {
        var pool = machine(maximum: 3)
        for waiter in 1...3 { _ = pool.lease(waiterID: waiter, waiter: waiter, isUsable: { _ in true }) }
        let first = pool.connectionFailed(RedisError(.connectionClosed, "refused"))
        #expect(first.fail.map(\.0).sorted() == [1, 2, 3])
        #expect(first.fail.allSatisfy { $0.1.code == .unavailable })
        #expect(first.connect.isEmpty, "other attempts are still running")
        _ = pool.connectionFailed(RedisError(.connectionClosed, "refused"))
        let last = pool.connectionFailed(RedisError(.connectionClosed, "refused"))
        #expect(last.connect.count == 1)
        #expect(last.connect.first?.delay == .milliseconds(400))

        // While backing off, callers fail at once and open nothing.
        guard case .failed(let error) = pool.lease(waiterID: 9, waiter: 9, isUsable: { _ in true }) else {
            Issue.record("expected a fast failure")
            return
        }
        #expect(error.code == .unavailable)

        // The retry chain goes on, capped, until a connect succeeds.
        let retry = pool.connectionFailed(RedisError(.connectionClosed, "refused"))
        #expect(retry.connect.first?.delay == .milliseconds(800))
        let recovered = pool.connectionEstablished(id: retry.connect[0].id, "c")
        #expect(recovered.lease.isEmpty && pool.failures == 0 && pool.idleCount == 1)
        guard case .leased = pool.lease(waiterID: 10, waiter: 10, isUsable: { _ in true }) else {
            Issue.record("the pool should have recovered")
            return
        }
    }

    @Test func waitersCanLeave() {
        var pool = machine(maximum: 1)
        _ = pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true })
        #expect(pool.removeWaiter(id: 1) == 1)
        #expect(pool.removeWaiter(id: 1) == nil)
        let actions = pool.connectionEstablished(id: 1, "c1")
        #expect(actions.lease.isEmpty && pool.idleCount == 1)
    }

    @Test func shutdownFailsWaitersAndClosesEverything() {
        var pool = machine(maximum: 2)
        _ = pool.lease(waiterID: 1, waiter: 1, isUsable: { _ in true })
        _ = pool.lease(waiterID: 2, waiter: 2, isUsable: { _ in true })
        _ = pool.connectionEstablished(id: 1, "leased")  // serves waiters 1 and 2
        _ = pool.lease(waiterID: 3, waiter: 3, isUsable: { $0 != "leased" })
        let actions = pool.shutdown()
        #expect(actions.fail.map(\.0).sorted() == [3])
        #expect(actions.fail.allSatisfy { $0.1.code == .shutDown })
        #expect(actions.close == ["leased"])
        #expect(pool.connectionEstablished(id: 2, "late").close == ["late"])
        #expect(pool.connectionFailed(RedisError(.timeout, "x")).connect.isEmpty)
        guard case .failed(let error) = pool.lease(waiterID: 4, waiter: 4, isUsable: { _ in true }) else {
            Issue.record("leases after shutdown must fail")
            return
        }
        #expect(error.code == .shutDown)
    }

    @Test func backoffDoublesUpToItsCap() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect((1...6).map { backoff.delay(afterFailures: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ])
        #expect(backoff.delay(afterFailures: 10_000) == .seconds(1))
    }
}
