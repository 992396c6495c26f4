import ChatService
import ChatterCore
import Logging
import ServiceLifecycle

/// Keeps this process's membership cache true when other processes change memberships.
///
/// `ChatService` invalidates the cache for changes it makes itself; with a shared event log
/// (Kafka) another process may make them. This service reads every chat event from the log
/// (a consumer group of its own, from the end) and forgets a chat's cached memberships on each
/// membership or chat change. Until the event arrives (milliseconds) a send on this process may
/// still pass on a membership just removed elsewhere; history and delivery read members from
/// the store.
struct MembershipInvalidation: Service {
    let log: any EventLog
    let cache: MembershipCache
    let logger: Logger
    let group: String
    /// How far this consumer is behind the log, for metrics.
    let lag: ConsumerLagProbe

    init(log: any EventLog, cache: MembershipCache, logger: Logger) {
        self.log = log
        self.cache = cache
        self.logger = logger
        group = "membership-\(Identifier.make())"
        lag = ConsumerLagProbe(topic: ChatEvent.topic, consumer: "membership")
    }

    static let kinds: Set<String> = [
        ChatEvent.Kind.memberAdded.rawValue, ChatEvent.Kind.memberRemoved.rawValue,
        ChatEvent.Kind.chatCreated.rawValue, ChatEvent.Kind.chatUpdated.rawValue,
    ]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await log.consume(topic: ChatEvent.topic, group: group, start: .latest, probe: lag, onFailure: { error in
                // Meanwhile nothing is known about changes elsewhere: forget everything.
                cache.invalidateAll()
                logger.error("membership events unavailable; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }) { records in
                for record in records where record.headers[EventHeader.kind].map(Self.kinds.contains) ?? true {
                    cache.invalidate(chatID: record.key)
                }
            }
        }
    }
}
