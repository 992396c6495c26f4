import ChatterCore
import Foundation
import Logging
import PostgresStorage
import SQLiteStorage
import ServiceLifecycle
#if Kafka
import KafkaEventLog
#endif

/// Where the roles keep their data: the embedded SQLite store (the default) or PostgreSQL
/// (`CHATTER_DATABASE_URL`). Both implement the same ports and pass the same contract suite.
///
/// The event log is Kafka when `CHATTER_KAFKA_BROKERS` is set (builds with the `Kafka` trait):
/// the relay publishes outbox rows to it, and every process's real-time role reads it, so any
/// number of processes share one stream of events. Otherwise it is the embedded log in the data
/// directory: on SQLite a send's events enter it in the send's own commit; with PostgreSQL the
/// relay publishes into it. One process then serves the whole product.
struct StorageBackend {
    var users: any UserRepository
    var sessions: any SessionRepository
    var chats: any ChatRepository
    var messages: any MessageRepository
    var outbox: any OutboxReader
    var eventLog: any EventLog
    /// Whether `eventLog` is shared with other processes (Kafka).
    var eventLogIsShared: Bool
    /// Started before the roles and stopped after them (the stores, their retention).
    var services: [any Service]
    var readinessChecks: [ReadinessCheck]
    /// Whether the repositories answer before `services` run (SQLite: yes; PostgreSQL's pool
    /// only once its service runs).
    var usableBeforeRunning: Bool
    /// PostgreSQL connections leased and calls waiting for one (always 0 on SQLite).
    var poolUsage: @Sendable () -> (inUse: Int, waiting: Int, queuedSends: Int) = { (0, 0, 0) }
    /// Releases what opening took, when building the rest of the server fails.
    var close: @Sendable () async -> Void

    static func open(configuration: ChatterConfiguration, logger: Logger) async throws -> StorageBackend {
        let local = try await openStore(configuration: configuration, logger: logger)
        do {
            let shared = try sharedLog(logger: logger)
            // One instance: its in-memory tail is what wakes the real-time role's readers.
            let embeddedLog = SQLiteEventLog(store: local)
            let eventLog = shared?.log ?? embeddedLog
            // Kafka runs before the stores' users (the relay) and stops after them: its graceful
            // shutdown flushes what is still in flight.
            let logServices = shared.map { [$0.service] } ?? []
            let logCheck = shared?.check ?? ReadinessCheck(name: "eventlog") { try await local.ping() }
            guard let url = configuration.databaseURL else {
                let outbox = SQLiteOutboxReader(store: local)
                if shared == nil {
                    // One store holds both: a send's events enter the log in the send's own commit.
                    outbox.publishInline(to: embeddedLog)
                }
                return StorageBackend(
                    users: SQLiteUserRepository(store: local), sessions: SQLiteSessionRepository(store: local),
                    chats: SQLiteChatRepository(store: local), messages: SQLiteMessageRepository(store: local),
                    outbox: outbox, eventLog: eventLog, eventLogIsShared: shared != nil,
                    services: logServices + [local, SQLiteRetention(store: local, logger: logger)],
                    readinessChecks: [ReadinessCheck(name: "database") { try await local.ping() }] + (shared == nil ? [] : [logCheck]),
                    usableBeforeRunning: true, close: { await local.close() })
            }
            let postgres = PostgresStore(configuration: try PostgresConfiguration(url: url), logger: logger)
            try await migrate(postgres, logger: logger)
            return StorageBackend(
                users: PostgresUserRepository(store: postgres), sessions: PostgresSessionRepository(store: postgres),
                chats: PostgresChatRepository(store: postgres), messages: PostgresMessageRepository(store: postgres),
                outbox: PostgresOutboxReader(store: postgres), eventLog: eventLog, eventLogIsShared: shared != nil,
                services: logServices + [local, postgres, SQLiteRetention(store: local, logger: logger),
                                         PostgresRetention(store: postgres, logger: logger)],
                readinessChecks: [ReadinessCheck(name: "database") { try await postgres.ping() }, logCheck],
                usableBeforeRunning: false, poolUsage: { postgres.poolUsage }, close: { await local.close() })
        } catch {
            await local.close()
            throw error
        }
    }

    /// Whether `CHATTER_KAFKA_BROKERS` names a shared event log.
    static func kafkaConfigured(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment["CHATTER_KAFKA_BROKERS"] ?? "").isEmpty
    }

    /// The shared event log named by `CHATTER_KAFKA_BROKERS`, or nil when it is not set.
    static func sharedLog(
        logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (log: any EventLog, service: any Service, check: ReadinessCheck)? {
        #if Kafka
        guard let configuration = try KafkaConfiguration(environment: environment) else { return nil }
        let kafka = try KafkaEventLog(configuration: configuration, logger: logger)
        return (kafka, kafka, ReadinessCheck(name: "eventlog") { try await kafka.ping() })
        #else
        if let brokers = environment["CHATTER_KAFKA_BROKERS"], !brokers.isEmpty {
            throw ChatterError(.internalError, "this chatter was built without Kafka support",
                               detail: "CHATTER_KAFKA_BROKERS is set; build with `swift build --traits Kafka` (needs librdkafka-dev)")
        }
        return nil
        #endif
    }

    /// Migrates PostgreSQL before serving. A database that is still starting (a fresh
    /// deployment, a restart of both) is waited for up to `patience`, then the start fails.
    static func migrate(_ store: PostgresStore, logger: Logger, patience: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                let versions = try await store.migrateBeforeRunning()
                logger.info("database schema ready", metadata: ["version": "\(versions.last ?? 0)"])
                return
            } catch let error as ChatterError where error.code == .unavailable && ContinuousClock.now < deadline {
                logger.warning("database not reachable yet; retrying", metadata: [LoggingKeys.errorDetail: "\(error.detail ?? "")"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
