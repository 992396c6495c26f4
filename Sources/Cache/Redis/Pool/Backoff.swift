/// Exponential backoff between reconnect attempts: `initial`, doubling per failure, capped.
struct Backoff: Sendable, Hashable {
    var initial: Duration
    var maximum: Duration

    /// The wait before the next attempt once `failures` attempts in a row have failed.
    func delay(afterFailures failures: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, failures) {
            guard delay < maximum else { break }
            delay *= 2
        }
        return min(delay, maximum)
    }
}
