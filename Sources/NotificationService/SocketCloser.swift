import ServiceLifecycle

/// Runs the asynchronous part of closing sockets (waiting for queued frames, sending the close
/// frame) for every connection of the process, so an open socket needs no task of its own
/// waiting for a close that may never come. A job exists only while its socket is closing.
final class SocketCloser: Service, Sendable {
    typealias Job = @Sendable () async -> Void
    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation

    init() {
        (jobs, continuation) = AsyncStream.makeStream(of: Job.self)
    }

    func enqueue(_ job: @escaping Job) {
        continuation.yield(job)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await job in self.jobs {
                    group.addTask { await job() }
                }
            }
        }
    }
}
