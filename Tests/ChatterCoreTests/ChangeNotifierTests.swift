import ChatterCore
import Testing

@Suite struct ChangeNotifierTests {
    @Test func waitReturnsAtOnceWhenAChangeAlreadyHappened() async {
        let notifier = ChangeNotifier()
        let seen = notifier.generation
        notifier.notify()
        let start = ContinuousClock.now
        await notifier.wait(since: seen, timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func waitEndsAtTheTimeoutWithoutAChange() async {
        let notifier = ChangeNotifier()
        let start = ContinuousClock.now
        await notifier.wait(since: notifier.generation, timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func manyWaitersAllWakeOnOneNotify() async {
        let notifier = ChangeNotifier()
        let seen = notifier.generation
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask { await notifier.wait(since: seen, timeout: .seconds(30)) }
            }
            try? await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            notifier.notify()
            await group.waitForAll()
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test func repeatedShortWaitsNeverHang() async {
        let notifier = ChangeNotifier()
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<2000 { notifier.notify(); await Task.yield() }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<300 { await notifier.wait(since: notifier.generation, timeout: .milliseconds(5)) }
                }
            }
        }
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}

/// The timeout sweep: one timer per notifier serves waits with different timeouts.
@Suite struct ChangeNotifierTimeoutTests {
    @Test(.timeLimit(.minutes(1)))
    func aShortWaitEndsWhileALongOneKeepsWaiting() async {
        let notifier = ChangeNotifier()
        let seen = notifier.generation
        await withTaskGroup(of: Void.self) { group in
            // The long wait schedules the sweep first; the short one must get an earlier one.
            group.addTask { await notifier.wait(since: seen, timeout: .seconds(3600)) }
            await Task.yield()
            await notifier.wait(since: seen, timeout: .milliseconds(20))
            #expect(notifier.generation == seen, "the short wait ended by its timeout, not by a change")
            notifier.notify()
            await group.waitForAll()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func waitsKeepEndingWhileOthersArriveAndLeave() async {
        let notifier = ChangeNotifier()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    for round in 0..<40 {
                        // Some waits end by a change, some by their timeout.
                        if (index + round) % 3 == 0 { notifier.notify() }
                        await notifier.wait(since: notifier.generation, timeout: .milliseconds(Int64(1 + (index * round) % 7)))
                    }
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingAWaitEndsIt() async {
        let notifier = ChangeNotifier()
        let waiter = Task { await notifier.wait(since: notifier.generation, timeout: .seconds(3600)) }
        await Task.yield()
        waiter.cancel()
        await waiter.value
    }
}
