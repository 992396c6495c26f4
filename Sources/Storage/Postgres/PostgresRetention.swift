import ChatterCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps `outbox.events` from growing without bound: rows published longer ago than the
/// retention period are deleted once a minute. The messages themselves live in
/// `messaging.messages` and are never touched; a published outbox row is only needed to
/// explain what was relayed, and the event log holds the events consumers read.
public struct PostgresRetention: Service {
    let store: PostgresStore
    let retentionSeconds: Int64
    let logger: Logger

    public init(store: PostgresStore, retentionSeconds: Int64 = 24 * 3600, logger: Logger) {
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
                    logger.warning("outbox trim failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
                }
            }
        }
    }

    /// Deletes outbox rows published before the retention period; returns how many.
    @discardableResult
    public func trim(now: Timestamp) async throws -> Int {
        let cutoff = now.adding(seconds: -retentionSeconds).milliseconds
        return try await store.withConnection { connection in
            try await connection.rows(
                "DELETE FROM outbox.events WHERE published_at IS NOT NULL AND published_at < \(cutoff) RETURNING id",
                logger: self.logger
            ).count
        }
    }
}
