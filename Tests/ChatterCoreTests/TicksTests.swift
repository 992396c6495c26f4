import ChatterCore
import Testing

@Suite struct TicksTests {
    @Test func ticksRepeatUntilTheLoopEnds() async {
        var count = 0
        for await _ in Ticks(every: .milliseconds(5)) {
            count += 1
            if count == 3 { break }
        }
        #expect(count == 3)
    }

    @Test func cancellingTheTaskEndsTheLoop() async {
        let looping = Task {
            var count = 0
            for await _ in Ticks(every: .milliseconds(5)) { count += 1 }
            return count
        }
        try? await Task.sleep(for: .milliseconds(50))
        looping.cancel()
        #expect(await looping.value >= 1)
    }
}
