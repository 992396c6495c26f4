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
