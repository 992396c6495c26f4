import Logging
import ServiceLifecycle
import Synchronization

/// Takes ended spans off the ``SpanQueue`` and hands them to a ``SpanExporter`` in batches: every
/// schedule delay, or as soon as a full batch is queued. On graceful shutdown it closes the queue
/// and sends what is left, for at most the shutdown timeout; on cancellation it stops at once.
public final class BatchSpanExportService: Service {
    public let queue: SpanQueue
    private let exporter: any SpanExporter
    private let scheduleDelay: Duration
    private let shutdownTimeout: Duration
    private let logger: Logger
    private let counters = Mutex(Counters())

    /// What happened to the spans that reached the queue, for tests and a metrics endpoint.
    public struct Counters: Sendable, Hashable {
        public var exportedSpans: UInt64 = 0
        /// Spans of batches the exporter gave up on (after its retries).
        public var failedSpans: UInt64 = 0
        /// Spans still queued when the shutdown timeout ran out.
        public var abandonedSpans: UInt64 = 0
    }

    public init(
        queue: SpanQueue, exporter: any SpanExporter, scheduleDelay: Duration,
        shutdownTimeout: Duration = .seconds(5), logger: Logger
    ) {
        self.queue = queue
        self.exporter = exporter
        self.scheduleDelay = scheduleDelay
        self.shutdownTimeout = shutdownTimeout
        self.logger = logger
    }

    public var counts: Counters { counters.withLock { $0 } }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await exportUntilClosed()
        } onGracefulShutdown: {
            self.queue.close()
        }
        guard !Task.isCancelled else { return }
        await flushRemaining()
    }

    private func exportUntilClosed() async {
        while !Task.isCancelled, !queue.isClosed {
            await waitForBatchOrDelay()
            guard !queue.isClosed else { return }
            await exportQueued()
        }
    }

    private func waitForBatchOrDelay() async {
        let delay = scheduleDelay
        let queue = queue
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: delay) }
            group.addTask { await queue.waitForBatch() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sends batches until the queue is empty (or the task is cancelled).
    private func exportQueued() async {
        while !Task.isCancelled {
            let batch = queue.takeBatch()
            if batch.isEmpty { return }
            do {
                try await exporter.export(batch)
                counters.withLock { $0.exportedSpans += UInt64(batch.count) }
            } catch {
                counters.withLock { $0.failedSpans += UInt64(batch.count) }
                if Task.isCancelled { return }
                logger.warning(
                    "Dropped a batch of spans the collector did not take",
                    metadata: [TracingLoggingKeys.spans: "\(batch.count)", TracingLoggingKeys.error: "\(error)"]
                )
            }
        }
    }

    private func flushRemaining() async {
        let timeout = shutdownTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.exportQueued() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        let left = queue.takeAll()
        let dropped = queue.droppedCount
        if !left.isEmpty {
            counters.withLock { $0.abandonedSpans += UInt64(left.count) }
        }
        if !left.isEmpty || dropped > 0 {
            logger.notice(
                "Spans lost: still queued at the shutdown deadline, or dropped because the queue was full",
                metadata: ["otel.spans.abandoned": "\(left.count)", TracingLoggingKeys.dropped: "\(dropped)"]
            )
        }
    }
}
