import ChatterCore
import NIOCore

/// Sizes the process's event-loop group. Must run before anything uses the group.
///
/// Why: NIO sizes its group by the machine's cores even when `taskset` allows fewer, so under
/// `taskset -c 0` two loops took turns on one CPU, switching contexts on every hand-off.
///
/// Tried twice and not kept (2026-11-26 and 2026-11-27): running Swift concurrency's jobs on
/// these loops (NIO's `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// to save the hops between them and Dispatch's pool. In alternating runs of the history-read
/// benchmark it was no faster, and it would put any blocking call on the I/O threads.
enum EventLoopSetup {
    /// Sets the group's size and returns it.
    static func apply(_ configuration: ChatterConfiguration) -> Int {
        let threads = configuration.eventLoopThreads ?? CPUAffinity.allowedCount() ?? System.coreCount
        NIOSingletons.groupLoopCountSuggestion = threads
        return threads
    }
}
