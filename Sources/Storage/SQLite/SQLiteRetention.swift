import ChatterCore
import Logging
import ServiceLifecycle

/// Keeps the embedded outbox and event log from growing without bound: published outbox rows
/// and log records older than the retention period are deleted once a minute. Messages
/// themselves live in `messaging_messages` and are never touched; the log only has to cover
/// consumers that are briefly behind, because clients catch up from the message store.
public struct SQLiteRetention: Service {
    let store: SQLiteStore
    let retentionSeconds: Int64
    let logger: Logger

    public init(store: SQLiteStore, retentionSeconds: Int64 = 24 * 3600, logger: Logger) {
        self.store = store
        self.retentionSeconds = retentionSeconds
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                guard !Task.isCancelled else { return }
                do {
                    try await trim(now: .now())
                } catch {
                    logger.warning("event log trim failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
                }
            }
        }
    }

    /// Deletes published outbox rows and log records older than the retention period.
    public func trim(now: Timestamp) async throws {
        let cutoff = now.adding(seconds: -retentionSeconds)
        try await store.write { connection in
            _ = try connection.query(
                "DELETE FROM outbox WHERE id <= (SELECT last_id FROM outbox_relay WHERE id = 1) AND created_at < ?", [.time(cutoff)])
            _ = try connection.query("DELETE FROM eventlog_records WHERE created_at < ?", [.time(cutoff)])
        }
    }
}
