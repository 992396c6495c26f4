import ChatterCore
import MessagingService
import RedisCache
import RedisClient
import Telemetry

extension StorageBackend {
    /// `messages` behind the history page cache where this process can know of every change
    /// to a chat's messages: with Redis, whose chat versions every messaging instance shares,
    /// or on the embedded store, which only this process writes. PostgreSQL without Redis
    /// could have writers this process never hears of, so it gets no cache.
    func cachingHistory(configuration: ChatterConfiguration, redis: RedisClient?, metrics: ChatterMetrics) -> any MessageRepository {
        guard configuration.historyCacheBytes > 0 else { return messages }
        let versions: any ChatVersions
        if let redis {
            versions = RedisChatVersions(redis: redis)
        } else if configuration.databaseURL == nil {  // the embedded store, as `open` chose
            versions = InMemoryChatVersions()
        } else {
            return messages
        }
        let cache = CachedHistoryRepository(messages, versions: versions, budgetBytes: configuration.historyCacheBytes) {
            metrics.historyPageRead(result: $0.rawValue)
        }
        metrics.addCollector { metrics.historyCacheHeld(bytes: cache.storedBytes) }
        return cache
    }
}
