import Synchronization
import Testing

@testable import PostgresStorage

/// The one watchdog that ends PostgreSQL calls the pool would leave waiting, without a database.
@Suite struct LeaseWatchdogTests {
    final class Expiries: Sendable {
        let seen = Mutex<[LeaseWatchdog.Expiry]>([])
        func record(_ expiry: LeaseWatchdog.Expiry) { seen.withLock { $0.append(expiry) } }
        var all: [LeaseWatchdog.Expiry] { seen.withLock { $0 } }
    }

    @Test func aWaitPastItsDeadlineTimesOutOnceAndAnEndedOneNever() {
        let watchdog = LeaseWatchdog()
        let start = ContinuousClock.now
        let late = Expiries(), ended = Expiries()
        _ = watchdog.watch(deadline: start + .seconds(5)) { late.record($0) }
        let endedID = watchdog.watch(deadline: start + .seconds(5)) { ended.record($0) }
        watchdog.end(endedID)

        #expect(watchdog.check(now: start + .seconds(4)) == 0)
        #expect(late.all.isEmpty)
        #expect(watchdog.check(now: start + .seconds(5)) == 1)
        #expect(watchdog.check(now: start + .seconds(60)) == 0, "expired calls are no longer watched")
        #expect(late.all == [.timedOut])
        #expect(ended.all.isEmpty)
        #expect(watchdog.watching == 0)
    }

    @Test func itsTickExpiresDueWaitsAndCancellationStopsIt() async {
        let watchdog = LeaseWatchdog(tick: .milliseconds(10))
        let expiries = Expiries()
        _ = watchdog.watch(deadline: .now + .milliseconds(30)) { expiries.record($0) }
        let running = Task { await watchdog.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while expiries.all.isEmpty, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(expiries.all == [.timedOut])
        running.cancel()
        await running.value
    }
}
