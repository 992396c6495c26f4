import ChatterCore
import Logging

/// Keeps the pool's connections in use while the server is idle: every `interval`, one
/// `SELECT 1` per connection the pool keeps open (`connections`, its minimum: pinging more would
/// make it open connections that it would then close again), all at once so that they lease
/// different connections. A pool that keeps none open is not pinged.
///
/// Why not postgres-nio's own keep-alive: it arms a timer (a task and a Dispatch timer) each
/// time a connection goes back to the pool and cancels it at the next lease, which in a profile
/// of history reads was about 8% of the server's CPU. Here the cost is one event-loop tick per
/// interval. What it is for is the same: a connection idle for long is not dropped by a
/// firewall or NAT on the way, and one that broke while idle fails here (the pool then closes
/// and replaces it) instead of under a user's call. Concurrent pings spread over the idle
/// connections, though the pool does not promise that every one is reached each round.
struct PoolKeepAlive {
    let interval: Duration
    let connections: Int

    /// Until cancelled (with no connections to ping it does nothing, but still only returns then).
    func run(store: PostgresStore) async {
        for await _ in Ticks(every: interval) {
            await pingEachConnection(store)
        }
    }

    func pingEachConnection(_ store: PostgresStore) async {
        let logger = store.logger
        await withDiscardingTaskGroup { group in
            for _ in 0..<connections {
                group.addTask {
                    do {
                        try await store.ping()
                    } catch {
                        logger.debug("a keep-alive ping failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
                    }
                }
            }
        }
    }
}
