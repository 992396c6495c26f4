import ChatterCore
import Logging
import ServiceLifecycle
import Telemetry

/// Publishes committed outbox rows to the event log, oldest first, and marks them published.
///
/// It wakes on every commit of the store rather than polling. A crash between publishing and
/// marking republishes that batch on restart: the log may hold duplicates, which consumers drop
/// by `(chat_id, seq)`, but never a gap or a reordering.
public struct OutboxRelay: Service {
    let outbox: any OutboxReader
    let log: any EventLog
    let logger: Logger
    let batchSize: Int
    let metrics: ChatterMetrics

    public init(
        outbox: any OutboxReader, log: any EventLog, logger: Logger, batchSize: Int = 500, metrics: ChatterMetrics = ChatterMetrics()
    ) {
        self.outbox = outbox
        self.log = log
        self.logger = logger
        self.batchSize = batchSize
        self.metrics = metrics
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await relayUntilCancelled()
        }
    }

    func relayUntilCancelled() async {
        var failures = 0
        while !Task.isCancelled {
            let seen = outbox.generation
            do {
                let relayed = try await outbox.relayNext(limit: batchSize, to: log)
                metrics.outboxRelayed(relayed)
                failures = 0
                // A short batch took everything committed before `seen` was read; wait for the
                // next commit (at once if one came meanwhile) instead of asking again.
                if relayed < batchSize {
                    await outbox.waitForEntries(since: seen, timeout: .seconds(1))
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.error("outbox relay failed; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
                // Back off up to 5 s so a dead dependency is not hammered; nothing is lost, the
                // rows stay unpublished until a publish succeeds.
                try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
            }
        }
    }
}
