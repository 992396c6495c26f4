/// The logger metadata keys this module writes, in one place.
enum RedisLoggingKeys {
    static let connectionID = "redis.connection.id"
    static let address = "redis.address"
    static let channel = "redis.pubsub.channel"
    static let droppedMessages = "redis.pubsub.dropped"
    static let error = "redis.error"
    static let retryDelay = "redis.retry.delay"
}
