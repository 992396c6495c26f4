import ChatterCore
import Logging
import NIOPosix
import ServiceLifecycle
import Telemetry
import Tracing
import Synchronization

/// The embedded store: one SQLite file in WAL mode with one writer connection and a few reader
/// connections, each driven synchronously by a thread of its own.
///
/// A whole transaction runs as one blocking closure on the connection's thread: one hand-off
/// there and one resume back per call, instead of a hop per statement. Writes run one batch at a
/// time on the writer thread, which is what makes per-chat `seq` assignment gap-free and
/// race-free; readers see the last committed state. As a `Service` it closes its connections
/// once the server in front of it has drained.
public final class SQLiteStore: Service, Sendable {
    public let path: String
    private let writer: SQLConnection
    private let writerThread: NIOThreadPool
    private let readers: Mutex<[SQLConnection]>
    private let readerThreads: NIOThreadPool
    private let readerCount: Int
    /// Checkpoints the WAL into the database file off the writer (see `checkpointInterval`).
    private let checkpointer: SQLConnection
    private let checkpointThread: NIOThreadPool
    private let queue = Mutex(WriteQueue())
    /// Whether the writer's commits wait for fsync (`synchronous=FULL`). Only the writer
    /// thread touches it.
    private let writerSyncs = Atomic(true)
    /// Boxed, not a bare closure: a `Mutex` whose value is a function type re-wraps it in two
    /// reabstraction thunks on every `withLock`, so each commit walked a chain as long as the
    /// number of commits before it (a tenth of the embedded server's CPU after 10 000 sends,
    /// and memory that only grew).
    private let beforeCommitStep = Mutex<CommitStep?>(nil)
    private let logger: Logger
    /// Moves on after every commit that may have added outbox rows (any batch with a durable
    /// write), so the outbox relay wakes without polling — and not for its own commits.
    let commits = ChangeNotifier()

    private struct WriteQueue {
        var pending: [PendingWrite] = []
        var head = 0
        /// A drain is scheduled or running on the writer thread.
        var draining = false
        var closed = false

        mutating func takeBatch(max: Int) -> [PendingWrite] {
            let end = min(pending.count, head + max)
            let batch = Array(pending[head..<end])
            head = end
            if head == pending.count {
                pending.removeAll(keepingCapacity: pending.count <= 1024)
                head = 0
            }
            return batch
        }
    }

    private init(path: String, writer: SQLConnection, writerThread: NIOThreadPool, readers: [SQLConnection],
                 readerThreads: NIOThreadPool, checkpointer: SQLConnection, checkpointThread: NIOThreadPool, logger: Logger) {
        self.path = path
        self.writer = writer
        self.writerThread = writerThread
        self.readers = Mutex(readers)
        self.readerCount = readers.count
        self.readerThreads = readerThreads
        self.checkpointer = checkpointer
        self.checkpointThread = checkpointThread
        self.logger = logger
    }

    /// How often `run()` checkpoints the WAL from a connection and thread of its own.
    ///
    /// Why: SQLite's automatic checkpoint runs inside the commit that crosses its threshold,
    /// on the writer — copying the WAL into the database file and fsyncing that file while
    /// every send queued behind the commit waits. A `PASSIVE` checkpoint from another
    /// connection copies what it can without blocking the writer or the readers, so when the
    /// writer's own checkpoint comes due little is left to copy. The writer's checkpoint stays
    /// (at SQLite's threshold): only a checkpoint that finds the WAL fully copied right before
    /// a write lets that write start the WAL over, and it bounds the WAL when `run()` is not
    /// running (tools, tests). Measured on the standard workload (`docs/performance.md`):
    /// p99 4.0 against 4.8 ms, and 38 against 98 WebSocket sends over 10 ms, in eight
    /// alternating pairs of runs.
    static let checkpointInterval = Duration.milliseconds(50)
    /// Pages (4 KiB) of WAL after which the writer checkpoints by itself (SQLite's default).
    static let fallbackCheckpointPages = 1_000

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public static func open(path: String, readerCount: Int = 2, logger: Logger) async throws -> SQLiteStore {
        let count = max(1, readerCount)
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        let readerThreads = NIOThreadPool(numberOfThreads: count)
        readerThreads.start()
        let checkpointThread = NIOThreadPool(numberOfThreads: 1)
        checkpointThread.start()
        do {
            let (writer, readers, checkpointer) = try await writerThread.runIfActive {
                () throws -> (SQLConnection, [SQLConnection], SQLConnection) in
                let writer = try SQLConnection(path: path)
                var opened: [SQLConnection] = []
                do {
                    // WAL lets readers proceed during a write; synchronous=FULL makes a commit
                    // durable before the client is acknowledged, so an ack survives a power
                    // cut, not just a crash.
                    try writer.executeScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY")
                    try writer.executeScript("PRAGMA wal_autocheckpoint=\(fallbackCheckpointPages)")
                    writer.setBusyTimeout(milliseconds: 5000)
                    try Migrations.apply(on: writer, logger: logger)
                    var readers: [SQLConnection] = []
                    for _ in 0..<count {
                        let reader = try SQLConnection(path: path)
                        opened.append(reader)
                        reader.setBusyTimeout(milliseconds: 5000)
                        try reader.executeScript("PRAGMA query_only=ON")
                        readers.append(reader)
                    }
                    let checkpointer = try SQLConnection(path: path)
                    opened.append(checkpointer)
                    return (writer, readers, checkpointer)
                } catch {
                    for connection in opened { connection.close() }
                    writer.close()
                    throw error
                }
            }
            return SQLiteStore(path: path, writer: writer, writerThread: writerThread, readers: readers,
                               readerThreads: readerThreads, checkpointer: checkpointer, checkpointThread: checkpointThread,
                               logger: logger)
        } catch {
            try? await writerThread.shutdownGracefully()
            try? await readerThreads.shutdownGracefully()
            try? await checkpointThread.shutdownGracefully()
            throw error
        }
    }

    /// Runs `body` inside a write transaction; an error it throws undoes its writes and only its
    /// writes.
    ///
    /// Group commit: writes that queue up while the writer thread is busy run together in one
    /// transaction, each in its own savepoint, and share one `COMMIT` (one fsync) — the callers
    /// see exactly what sequential transactions would give them, and every caller returns only
    /// after the commit that made its writes durable. Once queued, a write runs to its end even
    /// if the caller is cancelled (a client hanging up), so no transaction is left half done.
    ///
    /// `durable: false` is for writes that can be redone from durable state after a power cut
    /// (the relay's copy of outbox rows into the log): a batch made only of those commits
    /// without waiting for fsync. It cannot reorder anything: the WAL is sequential, so the next
    /// durable commit's fsync makes every earlier commit durable too.
    func write<T: Sendable>(durable: Bool = true, _ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
        // Writes made for a traced request get a span (the wait for the writer and the commit);
        // untraced background writes do not start traces of their own.
        guard TraceHeaders.currentTraceparent() != nil else { return try await enqueueWrite(durable: durable, traceparent: nil, body) }
        return try await withSpan("sqlite transaction", ofKind: .client) { span in
            span.attributes["db.system"] = "sqlite"
            return try await enqueueWrite(durable: durable, traceparent: TraceHeaders.currentTraceparent(), body)
        }
    }

    private func enqueueWrite<T: Sendable>(
        durable: Bool, traceparent: String?, _ body: @escaping @Sendable (SQLConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = PendingWrite(body: { connection in
                connection.traceparent = traceparent
                defer { connection.traceparent = nil }
                return try body(connection)
            }, durable: durable) { result in
                switch result {
                case .success(let value as T): continuation.resume(returning: value)
                case .success(let value): continuation.resume(throwing: StorageError.invalidValue(column: "write result", value: "\(type(of: value))"))
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
            enqueue(item)
        }
    }

    private func enqueue(_ item: PendingWrite) {
        let action = queue.withLock { queue -> EnqueueAction in
            guard !queue.closed else { return .reject }
            queue.pending.append(item)
            if queue.draining { return .none }
            queue.draining = true
            return .startDrain
        }
        switch action {
        case .none: break
        case .reject: item.finish(.failure(ChatterError.unavailable("the store", detail: "closed")))
        case .startDrain:
            writerThread.submit { state in
                guard case .active = state else { return self.failPending() }
                self.drain()
            }
        }
    }

    private enum EnqueueAction { case none, reject, startDrain }

    /// Most writes that share one transaction.
    static let maxBatch = 256

    /// On the writer thread: runs batches until the queue is empty.
    private func drain() {
        while true {
            let batch = queue.withLock { queue -> [PendingWrite] in
                let batch = queue.takeBatch(max: Self.maxBatch)
                if batch.isEmpty { queue.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            runBatch(batch)
        }
    }

    private func failPending() {
        let items = queue.withLock { queue -> [PendingWrite] in
            queue.draining = false
            return queue.takeBatch(max: .max)
        }
        for item in items { item.finish(.failure(ChatterError.unavailable("the store", detail: "closed"))) }
    }

    private func runBatch(_ batch: [PendingWrite]) {
        let durable = batch.contains(where: \.durable)
        do {
            if durable != writerSyncs.load(ordering: .relaxed) {
                try writer.execute(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
                writerSyncs.store(durable, ordering: .relaxed)
            }
            try writer.execute("BEGIN IMMEDIATE")
        } catch {
            for item in batch { item.finish(.failure(error)) }
            return
        }
        var outcomes: [Result<any Sendable, any Error>] = []
        outcomes.reserveCapacity(batch.count)
        if batch.count == 1, let item = batch.first {
            // Alone in its transaction: a failure rolls back the transaction, no savepoint needed.
            do {
                outcomes.append(.success(try item.body(writer)))
            } catch {
                rollback()
                item.finish(.failure(error))
                return
            }
        } else {
            for item in batch {
                do {
                    try writer.execute("SAVEPOINT write")
                    let value = try item.body(writer)
                    try writer.execute("RELEASE write")
                    outcomes.append(.success(value))
                } catch {
                    _ = try? writer.execute("ROLLBACK TO write")
                    _ = try? writer.execute("RELEASE write")
                    outcomes.append(.failure(error))
                }
            }
        }
        let step = durable ? runBeforeCommitStep() : nil
        do {
            try writer.execute("COMMIT")
            step?.afterCommit()
            // The relay is woken only for rows the inline step did not take.
            if durable && step?.drained != true { commits.notify() }
            for (item, outcome) in zip(batch, outcomes) { item.finish(outcome) }
        } catch {
            rollback()
            for (item, outcome) in zip(batch, outcomes) {
                if case .failure = outcome { item.finish(outcome) } else { item.finish(.failure(error)) }
            }
        }
    }

    /// The before-commit step, boxed (see `beforeCommitStep`).
    final class CommitStep: Sendable {
        let run: @Sendable (SQLConnection) throws -> CommitStepResult
        init(run: @escaping @Sendable (SQLConnection) throws -> CommitStepResult) { self.run = run }
    }

    /// What the before-commit step did: run `afterCommit` once the transaction committed;
    /// `drained` says nothing is left for the relay.
    struct CommitStepResult {
        var afterCommit: @Sendable () -> Void
        var drained: Bool
    }

    /// Runs at the end of every transaction with durable writes, inside it (the embedded log
    /// publishes the transaction's outbox rows this way: they commit together, with one
    /// fsync). Set once at start-up.
    func setBeforeCommitStep(_ step: @escaping @Sendable (SQLConnection) throws -> CommitStepResult) {
        let boxed = CommitStep(run: step)
        beforeCommitStep.withLock { $0 = boxed }
    }

    /// In its own savepoint: if it fails, the batch's writes still commit and the relay
    /// publishes their rows later.
    private func runBeforeCommitStep() -> CommitStepResult? {
        guard let step = beforeCommitStep.withLock({ $0 }) else { return nil }
        do {
            try writer.execute("SAVEPOINT commit_step")
            let result = try step.run(writer)
            try writer.execute("RELEASE commit_step")
            return result
        } catch {
            _ = try? writer.execute("ROLLBACK TO commit_step")
            _ = try? writer.execute("RELEASE commit_step")
            logger.warning("before-commit step failed; the relay will catch up", metadata: [LoggingKeys.errorDetail: "\(error)"])
            return nil
        }
    }

    private func rollback() {
        do {
            try writer.execute("ROLLBACK")
        } catch {
            logger.error("rollback failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
        }
    }

    /// Runs `body` on a reader connection. Each statement sees the last committed state; callers
    /// that need several statements to agree must read them in one statement or in `write`.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
        try await readerThreads.runIfActive {
            // The pool has as many threads as connections, so one is always free here.
            guard let connection = self.readers.withLock({ $0.popLast() }) else {
                throw ChatterError.unavailable("the store", detail: "closed")
            }
            defer { self.readers.withLock { $0.append(connection) } }
            return try body(connection)
        }
    }

    /// A cheap query proving the file is open and readable, for `/readyz`.
    public func ping() async throws {
        _ = try await read { try $0.query("SELECT 1") }
    }

    /// The migrations applied to this file, newest last.
    public func appliedMigrations() async throws -> [Int] {
        try await read { connection in
            try connection.query("SELECT version FROM schema_migrations ORDER BY version").map { Int(try $0.int64("version")) }
        }
    }

    /// Finishes queued writes, then closes every connection and stops the store's threads.
    /// Shielded from the caller's cancellation: an unclosed handle would leak the file lock.
    public func close() async {
        await Task {
            self.queue.withLock { $0.closed = true }
            // Threads finish the work already handed to them (including a running drain) first.
            try? await self.readerThreads.shutdownGracefully()
            try? await self.writerThread.shutdownGracefully()
            try? await self.checkpointThread.shutdownGracefully()
            self.failPending()
            for connection in self.readers.withLock({ $0 }) { connection.close() }
            self.checkpointer.close()
            self.writer.close()
        }.value
    }

    /// Checkpoints the WAL every `checkpointInterval` until graceful shutdown, then closes.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in Ticks(every: Self.checkpointInterval) {
                await self.checkpoint()
            }
        }
        await close()
    }

    /// One `PASSIVE` checkpoint on the checkpointer's thread; returns the WAL's frames and how
    /// many of them are now in the database file.
    @discardableResult
    func checkpoint() async -> (walFrames: Int64, checkpointed: Int64)? {
        do {
            return try await checkpointThread.runIfActive {
                guard let row = try self.checkpointer.query("PRAGMA wal_checkpoint(PASSIVE)").first else { return nil }
                return (try row.int64("log"), try row.int64("checkpointed"))
            }
        } catch {
            logger.warning("WAL checkpoint failed; the writer's own checkpoint keeps the WAL bounded", metadata: [
                LoggingKeys.errorDetail: "\(error)"])
            return nil
        }
    }
}

/// One caller's write, waiting for its batch to commit.
struct PendingWrite: Sendable {
    let body: @Sendable (SQLConnection) throws -> any Sendable
    let durable: Bool
    let finish: @Sendable (Result<any Sendable, any Error>) -> Void
}
