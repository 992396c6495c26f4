import ChatterCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import ServiceLifecycle
import Synchronization

/// The embedded store: one SQLite file in WAL mode with one writer connection and a few reader
/// connections.
///
/// Writes run one at a time through a FIFO gate (batched into shared transactions when they
/// queue up), which is what makes per-chat `seq` assignment gap-free and race-free. Readers see the last committed state.
/// As a `Service` it closes its connections once the server in front of it has drained.
public final class SQLiteStore: Service, Sendable {
    public let path: String
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let gate = AsyncGate()
    /// Writes waiting for the next batch, oldest first.
    private let pendingWrites = Mutex<[PendingWrite]>([])
    private let nextReader = Synchronization.Atomic<Int>(0)
    private let logger: Logger
    /// Moves on after every committed write, so the outbox relay wakes without polling.
    let commits = ChangeNotifier()

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], logger: Logger) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.logger = logger
    }

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public static func open(path: String, readerCount: Int = 2, logger: Logger) async throws -> SQLiteStore {
        let threadPool = NIOThreadPool.singleton
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop)
        do {
            // WAL lets readers proceed during a write; synchronous=FULL makes a commit durable
            // before the client is acknowledged, so an ack survives a power cut, not just a crash.
            _ = try await writer.query("PRAGMA journal_mode=WAL")
            _ = try await writer.query("PRAGMA synchronous=FULL")
            _ = try await writer.query("PRAGMA foreign_keys=ON")
            _ = try await writer.query("PRAGMA busy_timeout=5000")
            try await Migrations.apply(on: writer, logger: logger)
            var readers: [SQLiteConnection] = []
            for _ in 0..<max(1, readerCount) {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop)
                _ = try await reader.query("PRAGMA busy_timeout=5000")
                _ = try await reader.query("PRAGMA query_only=ON")
                readers.append(reader)
            }
            return SQLiteStore(path: path, writer: writer, readers: readers, logger: logger)
        } catch {
            try? await writer.close()
            throw error
        }
    }

    /// Runs `body` inside a write transaction; an error it throws undoes its writes and only its
    /// writes.
    ///
    /// Group commit: writes that queue up behind the writer gate run together in one
    /// transaction, each in its own savepoint, and share one `COMMIT` (one fsync) — the callers
    /// see exactly what sequential transactions would give them, and every caller returns only
    /// after the commit that made its writes durable.
    ///
    /// The work runs in its own task, so cancelling a caller (a client hanging up) cannot stop
    /// it between BEGIN and COMMIT/ROLLBACK and leave the writer connection inside an open
    /// transaction. The caller still awaits the outcome.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        let item = PendingWrite { try await body($0) }
        pendingWrites.withLock { $0.append(item) }
        try await Task {
            try await self.gate.withGate {
                guard !item.isDone else { return }  // an earlier batch already ran it
                let batch = self.pendingWrites.withLock { pending -> [PendingWrite] in
                    let batch = Array(pending.prefix(Self.maxBatch))
                    pending.removeFirst(batch.count)
                    return batch
                }
                await self.runBatch(batch)
            }
        }.value
        guard let value = try item.result() as? T else {
            throw StorageError.invalidValue(column: "write result", value: "\(T.self)")
        }
        return value
    }

    /// Most writes that share one transaction.
    static let maxBatch = 128

    private func runBatch(_ batch: [PendingWrite]) async {
        do {
            _ = try await writer.query("BEGIN IMMEDIATE")
        } catch {
            for item in batch { item.finish(.failure(error)) }
            return
        }
        var outcomes: [Result<any Sendable, any Error>] = []
        for item in batch {
            do {
                _ = try await writer.query("SAVEPOINT write")
                let value = try await item.body(writer)
                _ = try await writer.query("RELEASE write")
                outcomes.append(.success(value))
            } catch {
                _ = try? await writer.query("ROLLBACK TO write")
                _ = try? await writer.query("RELEASE write")
                outcomes.append(.failure(error))
            }
        }
        do {
            _ = try await writer.query("COMMIT")
            commits.notify()
            for (item, outcome) in zip(batch, outcomes) { item.finish(outcome) }
        } catch {
            do {
                _ = try await writer.query("ROLLBACK")
            } catch let rollbackError {
                logger.error("rollback failed", metadata: [LoggingKeys.errorDetail: "\(rollbackError)"])
            }
            for (item, outcome) in zip(batch, outcomes) {
                if case .failure = outcome { item.finish(outcome) } else { item.finish(.failure(error)) }
            }
        }
    }

    /// Runs `body` on a reader connection. Each statement sees the last committed state; callers
    /// that need several statements to agree must read them in one statement or in `write`.
    func read<T: Sendable>(_ body: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        let index = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue
        let reader = readers[abs(index) % readers.count]
        return try await body(reader)
    }

    /// A cheap query proving the file is open and readable, for `/readyz`.
    public func ping() async throws {
        _ = try await read { try await $0.query("SELECT 1") }
    }

    /// The migrations applied to this file, newest last.
    public func appliedMigrations() async throws -> [Int] {
        try await read { connection in
            try await connection.query("SELECT version FROM schema_migrations ORDER BY version").map { Int(try $0.int64("version")) }
        }
    }

    /// Closes every connection. Shielded from the caller's cancellation: an unclosed handle
    /// would leak the file lock.
    public func close() async {
        await Task {
            for connection in self.readers + [self.writer] where !connection.isClosed {
                do { try await connection.close() } catch {
                    self.logger.warning("closing SQLite connection failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
                }
            }
        }.value
    }

    public func run() async throws {
        try? await gracefulShutdown()
        // Take the gate so no transaction is cut in half by the close.
        _ = try? await gate.withGate { await self.close() }
    }
}

/// One caller's write, waiting for (or done by) a batch.
final class PendingWrite: Sendable {
    let body: @Sendable (SQLiteConnection) async throws -> any Sendable
    private let outcome = Mutex<Result<any Sendable, any Error>?>(nil)

    init(body: @escaping @Sendable (SQLiteConnection) async throws -> any Sendable) {
        self.body = body
    }

    var isDone: Bool { outcome.withLock { $0 != nil } }

    func finish(_ result: Result<any Sendable, any Error>) {
        outcome.withLock { $0 = result }
    }

    func result() throws -> any Sendable {
        guard let outcome = outcome.withLock({ $0 }) else {
            throw StorageError.invalidValue(column: "write", value: "not run")
        }
        return try outcome.get()
    }
}
