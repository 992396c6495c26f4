import ChatterCore
import Foundation
import Logging
import PostgresStorage
import SQLiteStorage
import ServiceLifecycle

/// Where the roles keep their data: the embedded SQLite store (the default) or PostgreSQL
/// (`CHATTER_DATABASE_URL`). Both implement the same ports and pass the same contract suite.
///
/// The event log the notification role reads is the embedded one in both cases until Kafka is
/// configured: with PostgreSQL the relay publishes the outbox rows into the local log. One
/// process then serves the whole product; several processes need a shared log (Kafka).
struct StorageBackend {
    var users: any UserRepository
    var sessions: any SessionRepository
    var chats: any ChatRepository
    var messages: any MessageRepository
    var outbox: any OutboxReader
    var eventLog: any EventLog
    /// Started before the roles and stopped after them (the stores, their retention).
    var services: [any Service]
    var readinessChecks: [ReadinessCheck]
    /// Whether the repositories answer before `services` run (SQLite: yes; PostgreSQL's pool
    /// only once its service runs).
    var usableBeforeRunning: Bool
    /// Releases what opening took, when building the rest of the server fails.
    var close: @Sendable () async -> Void

    static func open(configuration: ChatterConfiguration, logger: Logger) async throws -> StorageBackend {
        let local = try await openStore(configuration: configuration, logger: logger)
        let eventLog = SQLiteEventLog(store: local)
        guard let url = configuration.databaseURL else {
            let outbox = SQLiteOutboxReader(store: local)
            // One store holds both: a send's events enter the log in the send's own commit.
            outbox.publishInline(to: eventLog)
            return StorageBackend(
                users: SQLiteUserRepository(store: local), sessions: SQLiteSessionRepository(store: local),
                chats: SQLiteChatRepository(store: local), messages: SQLiteMessageRepository(store: local),
                outbox: outbox, eventLog: eventLog,
                services: [local, SQLiteRetention(store: local, logger: logger)],
                readinessChecks: [ReadinessCheck(name: "database") { try await local.ping() }],
                usableBeforeRunning: true, close: { await local.close() })
        }
        do {
            let postgres = PostgresStore(configuration: try PostgresConfiguration(url: url), logger: logger)
            try await migrate(postgres, logger: logger)
            return StorageBackend(
                users: PostgresUserRepository(store: postgres), sessions: PostgresSessionRepository(store: postgres),
                chats: PostgresChatRepository(store: postgres), messages: PostgresMessageRepository(store: postgres),
                outbox: PostgresOutboxReader(store: postgres), eventLog: eventLog,
                services: [local, postgres, SQLiteRetention(store: local, logger: logger),
                           PostgresRetention(store: postgres, logger: logger)],
                readinessChecks: [
                    ReadinessCheck(name: "database") { try await postgres.ping() },
                    ReadinessCheck(name: "eventlog") { try await local.ping() },
                ],
                usableBeforeRunning: false, close: { await local.close() })
        } catch {
            await local.close()
            throw error
        }
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
