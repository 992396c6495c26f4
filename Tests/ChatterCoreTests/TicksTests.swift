import ChatterCore
import Synchronization
import Testing

@Suite struct TicksTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test func ticksRepeatUntilTheLoopEnds() async {
        var count = 0
        for await _ in Ticks(every: .milliseconds(5)) {
            count += 1
            if count == 3 { break }
        }
        #expect(count == 3)
    }

    /// Waits for a first tick however busy the machine is, then checks that cancelling the
    /// task ends the loop (the time limit fails the test if it never does).
    @Test(.timeLimit(.minutes(1))) func cancellingTheTaskEndsTheLoop() async {
        let ticks = Counter()
        let looping = Task {
            for await _ in Ticks(every: .milliseconds(5)) { ticks.value.add(1, ordering: .relaxed) }
        }
        while ticks.value.load(ordering: .relaxed) == 0 { try? await Task.sleep(for: .milliseconds(10)) }
        looping.cancel()
        await looping.value
        #expect(ticks.value.load(ordering: .relaxed) >= 1)
    }
}
