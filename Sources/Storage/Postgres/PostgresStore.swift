import ChatterCore
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Telemetry
import Tracing

/// The production store: a pooled `PostgresClient` and the schema the four repositories and
/// the outbox live in (`auth`, `chat`, `messaging`, `outbox`).
///
/// It is a `Service`: `run()` runs the pool and the outbox listener until graceful shutdown.
/// Every call leases a connection for at most `acquireTimeout`; while the database is
/// unreachable calls fail with `ChatterError.unavailable` (503) instead of hanging.
public final class PostgresStore: Service, Sendable {
    public let configuration: PostgresConfiguration
    let client: PostgresClient
    private let usage = PoolUsage()

    /// Connections leased by calls now, calls waiting for one, and sends waiting for a batch
    /// transaction, for metrics.
    public var poolUsage: (inUse: Int, waiting: Int, queuedSends: Int) {
        (usage.leased.load(ordering: .relaxed), usage.waiting.load(ordering: .relaxed), appends.waiting)
    }
    let logger: Logger
    /// Moves on every `NOTIFY` of the outbox channel (any process's commit that added outbox
    /// rows) and whenever the listener (re)connects, so the relay wakes without polling.
    let commits = ChangeNotifier()
    /// Sends waiting for their batch transaction (`PostgresBatchAppend`).
    let appends = AppendQueue()
    /// Ends waits past the acquire timeout and calls on connections that closed under them.
    let watchdog = LeaseWatchdog()

    /// The channel the append transactions notify and the listener listens on.
    static let outboxChannel = "chatter_outbox"

    public init(configuration: PostgresConfiguration, logger: Logger) {
        let tls: PostgresClient.Configuration.TLS = switch configuration.tls.value {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: tls)
        config.options.maximumConnections = configuration.maximumConnections
        config.options.minimumConnections = configuration.effectiveMinimumConnections
        config.options.connectTimeout = configuration.connectTimeout
        // `PoolKeepAlive` does this instead, without a timer per lease.
        config.options.keepAliveBehavior = nil
        self.configuration = configuration
        self.logger = logger
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        var listener = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable)
        listener.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout / .milliseconds(1)))
        self.listenerConfiguration = listener
        self.listenerTLS = configuration.tls
    }

    /// Connections outside the pool: the outbox listener's (see `listenForOutboxCommits`) and
    /// the migrator's.
    let listenerConfiguration: PostgresConnection.Configuration
    let listenerTLS: PostgresConfiguration.TLSMode

    /// Runs the connection pool, the outbox listener and the committers of batched sends until
    /// graceful shutdown or cancellation. The store shuts down after the servers in front have
    /// drained their requests; a committer finishes the batch it holds, and a send still
    /// waiting then fails with 503.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // The watchdog lives as long as the pool: calls made while the store drains still need it.
                await withTaskGroup(of: Void.self) { pool in
                    pool.addTask { await self.client.run() }
                    pool.addTask { await self.watchdog.run() }
                    // Like the two above, it returns only when cancelled: the first to return ends the pool.
                    let keptOpen = self.configuration.effectiveMinimumConnections
                    if let interval = self.configuration.keepAliveInterval, keptOpen > 0 {
                        pool.addTask { await PoolKeepAlive(interval: interval, connections: keptOpen).run(store: self) }
                    }
                    await pool.next()
                    pool.cancelAll()
                }
            }
            group.addTask { await cancelWhenGracefulShutdown { await self.listenForOutboxCommits() } }
            for _ in 0..<PostgresBatchAppend.committers {
                group.addTask {
                    await withGracefulShutdownHandler {
                        await withTaskCancellationHandler {
                            await PostgresBatchAppend.commitUntilClosed(self.appends, store: self)
                        } onCancel: {
                            self.appends.close()
                        }
                    } onGracefulShutdown: {
                        self.appends.close()
                    }
                }
            }
        }
    }

    /// Readiness: one round trip to the database.
    public func ping() async throws {
        try await withConnection { connection in
            _ = try await connection.rows("SELECT 1", logger: self.logger)
        }
    }

    /// Applies pending migrations (see `PostgresMigrations`). Safe to run from several processes
    /// at once.
    public func migrate() async throws {
        try await withConnection { connection in
            try await PostgresMigrations.apply(on: connection, logger: self.logger)
        }
    }

    /// Applies pending migrations over a connection of its own, before `run()` has started the
    /// pool: a server migrates before it serves, and `chatter migrate` never starts the pool.
    /// Fails with `ChatterError.unavailable` when the database cannot be reached.
    public func migrateBeforeRunning() async throws -> [Int] {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try directConfiguration(), id: 0, logger: logger)
            let result: Result<[Int], any Error>
            do {
                try await PostgresMigrations.apply(on: connection, logger: logger)
                result = .success(try await connection.rows(
                    "SELECT version FROM public.schema_migrations ORDER BY version", logger: logger
                ).map { try $0.decode(Int.self) })
            } catch {
                result = .failure(error)
            }
            try? await connection.close()
            return try result.get()
        } catch {
            throw PostgresErrors.map(error, logger: logger)
        }
    }

    /// The settings for a connection outside the pool, TLS included.
    private func directConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = listenerConfiguration
        switch listenerTLS.value {
        case .disable: break
        case .prefer: configuration.tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: configuration.tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return configuration
    }

    /// Versions recorded in `public.schema_migrations`, ascending.
    public func appliedMigrations() async throws -> [Int] {
        try await withConnection { connection in
            try await connection.rows(
                "SELECT version FROM public.schema_migrations ORDER BY version", logger: self.logger
            ).map { try $0.decode(Int.self) }
        }
    }

    // MARK: - Connections and transactions

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`, `ROLLBACK` on any error) on one
    /// leased connection. Errors come out mapped (`PostgresErrors.map`).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        // A span for transactions of traced requests (the outbox row written inside takes this
        // span's context); untraced background transactions do not start traces of their own.
        guard TraceHeaders.currentTraceparent() != nil else { return try await runTransaction(body) }
        return try await withSpan("postgresql transaction", ofKind: .client) { span in
            span.attributes["db.system"] = "postgresql"
            return try await runTransaction(body)
        }
    }

    private func runTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            _ = try await connection.rows("BEGIN", logger: self.logger)
            do {
                let value = try await body(connection)
                _ = try await connection.rows("COMMIT", logger: self.logger)
                return value
            } catch {
                do {
                    _ = try await connection.rows("ROLLBACK", logger: self.logger)
                } catch {
                    self.logger.error("rollback failed", metadata: [LoggingKeys.errorDetail: "\(String(reflecting: error))"])
                }
                throw error
            }
        }
    }

    /// Leases a connection for `body`, waiting at most `acquireTimeout` for it; connection
    /// failures become `ChatterError.unavailable`.
    ///
    /// Once a connection is leased `body` runs to its end: the timeout only bounds the wait, so
    /// a transaction is never abandoned half way by it. The lease runs in a task of its own
    /// that the caller does not wait for when it has to give up, so a call fails rather than
    /// hangs in two cases:
    /// - the wait for a connection times out (a cancelled lease request must not hold it);
    /// - the leased connection is closed while `body` still waits for an answer. postgres-nio
    ///   (1.33) writes a query to its channel without a promise, so a query written to a
    ///   connection that has just closed is never answered nor failed; the pool can hand out a
    ///   connection whose query just failed because the server terminated it, before it has
    ///   seen the close. `body` then never returns, and the watchdog fails the call instead
    ///   (its lease task stays parked; the pool replaces the closed connection).
    ///
    /// Both deadlines are kept by the store's one `LeaseWatchdog`, not by tasks of each call.
    ///
    /// When the caller is cancelled while waiting for a connection, the call ends at once with
    /// `CancellationError`. A running transaction is never cancelled.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let race = LeaseRace()
        let client = self.client
        let watchdog = self.watchdog
        let outcomeBox = Mutex<ResumeOnce<T>?>(nil)
        let deadline = ContinuousClock.now + configuration.acquireTimeout
        // Whoever ends the wait first (lease, timeout, failure, cancellation) takes it off the gauge.
        let usage = self.usage
        let wait = usage.startWaiting()
        defer { usage.endWaiting(wait) }
        let watchID = Mutex<LeaseWatchdog.ID?>(nil)
        defer { if let id = watchID.withLock({ $0 }) { watchdog.end(id) } }
        do {
            return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let outcome = ResumeOnce(continuation)
                outcomeBox.withLock { $0 = outcome }
                // Cancelled before the wait began (the handler then runs first and finds no
                // continuation to end): end it here, or nothing ever would.
                if race.isCancelledEarly {
                    outcome.resume(with: .failure(CancellationError()))
                    return
                }
                let id = watchdog.watch(deadline: deadline) { expiry in
                    switch expiry {
                    case .timedOut:
                        if race.claim(.timedOut) {
                            race.cancelLease()
                            outcome.resume(with: .failure(LeaseRace.TimedOut()))
                        }
                    case .connectionLost:
                        outcome.resume(with: .failure(LeaseRace.ConnectionLost()))
                    }
                }
                watchID.withLock { $0 = id }
                race.setLease(Task {
                    do {
                        let value = try await client.withConnection { connection in
                            guard race.claim(.acquired) else { throw LeaseRace.TimedOut() }
                            usage.endWaiting(wait)
                            usage.leased.add(1, ordering: .relaxed)
                            defer { usage.leased.subtract(1, ordering: .relaxed) }
                            guard !connection.isClosed else { throw LeaseRace.ConnectionLost() }
                            watchdog.leased(id, connection: connection)
                            return try await body(connection)
                        }
                        outcome.resume(with: .success(value))
                    } catch {
                        if race.claim(.failed) || race.isAcquired { outcome.resume(with: .failure(error)) }
                    }
                })
            }
            } onCancel: {
                if race.claim(.timedOut) {
                    race.cancelLease()
                    outcomeBox.withLock { $0 }?.resume(with: .failure(CancellationError()))
                }
            }
        } catch {
            throw PostgresErrors.map(error, logger: logger)
        }
    }

    // MARK: - Outbox notifications

    /// Holds one connection that `LISTEN`s on the outbox channel and moves `commits` on every
    /// notification; reconnects after a second when the connection is lost.
    ///
    /// The connection is its own, not the pool's: a pooled connection whose `LISTEN` ended
    /// because the server terminated it went back to the pool, was leased again at once, and
    /// the next query on it never completed (seen about one run in fifteen of the outage test).
    /// A connection of its own is closed here and never reused.
    private func listenForOutboxCommits() async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(configuration: try directConfiguration(), id: attempt, logger: logger)
                let listened: Result<Void, any Error>
                do {
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: Self.outboxChannel) { notifications in
                            // Rows committed while nobody listened are found by the wake-up.
                            self.commits.notify()
                            for try await _ in notifications { self.commits.notify() }
                        }
                    } onCancel: {
                        // Closing ends the notification sequence, so `run()` returns on shutdown.
                        connection.close().whenComplete { _ in }
                    }
                    listened = .success(())
                } catch {
                    listened = .failure(error)
                }
                // Closed before it is released (postgres-nio asserts that).
                try? await connection.close()
                try listened.get()
            } catch {
                if Task.isCancelled { return }
                logger.debug("outbox listener lost its connection", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
