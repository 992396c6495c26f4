#if Kafka
import Dispatch

/// Where librdkafka's blocking calls run: polls with a timeout, flush, synchronous commit,
/// metadata and topic creation. A serial Dispatch queue borrows one of Dispatch's own worker
/// threads while it works, so a call that blocks for 100 ms never holds one of the few threads
/// of Swift's cooperative pool. Serial, because each queue serves one librdkafka handle.
struct BlockingQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    /// For work nobody waits for: tearing down a handle from a `deinit`.
    func async(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }
}
#endif
