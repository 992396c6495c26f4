import ServiceLifecycle

/// Runs the asynchronous work of every socket of the process — a client frame's answer, the
/// sending of a close frame after the queued ones — as short child tasks of one task.
///
/// A socket itself has no task: it lives in its NIO pipeline and only hands work here, so an
/// idle socket costs no task stack or task-allocator slabs. A job exists only while there is
/// something to do for its socket.
final class SocketJobs: Service, Sendable {
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
