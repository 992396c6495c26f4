import ChatterCore
import Foundation
import NIOCore
import NIOPosix

/// Sizes the process's event-loop group and, by default, makes it Swift concurrency's
/// executor. Must run before anything uses the group or the concurrency pool.
///
/// Why: with the pool and the loops apart, every request hopped threads four times (socket
/// read → handler task → database connection → handler → socket write), and NIO sizes its
/// group by the machine's cores even when `taskset` allows one, so two loops took turns on a
/// single CPU. On the production stack that was about a quarter of a history read's CPU.
enum EventLoopSetup {
    struct Applied {
        var threads: Int
        var runsConcurrency: Bool
    }

    static func apply(_ configuration: ChatterConfiguration) -> Applied {
        let threads = configuration.eventLoopThreads ?? CPUAffinity.allowedCount() ?? System.coreCount
        NIOSingletons.groupLoopCountSuggestion = threads
        let runsConcurrency = configuration.eventLoopExecutor
            && NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        return Applied(threads: threads, runsConcurrency: runsConcurrency)
    }
}
