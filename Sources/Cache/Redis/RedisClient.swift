import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A Redis client: a bounded pool of pipelined connections for commands, plus one dedicated
/// connection for pub/sub.
///
/// It is a `Service`: its ``run()`` must be running (under the app's `ServiceGroup`) for
/// commands to get connections, and returns after a graceful shutdown or cancellation, once
/// every connection is closed. Calls then fail with ``RedisError/Code/shutDown``.
///
/// Guarantees: no call waits longer than `connectionRequestTimeout` for a connection plus
/// `commandTimeout` per command it sends. While Redis is unreachable calls fail at once with
/// ``RedisError/Code/unavailable`` and the client reconnects in the background with capped
/// exponential backoff; it recovers by itself. A command in flight on a connection that drops
/// fails with ``RedisError/Code/connectionClosed`` and is never retried, since it may have run.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    let pool: ConnectionPool
    let subscriptions: SubscriptionManager
    private let logger: Logger
    private let started = Atomic<Bool>(false)

    /// - Throws: ``RedisError/Code/invalidConfiguration`` for settings that cannot work.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws {
        try configuration.validate()
        var logger = logger
        logger[metadataKey: RedisLoggingKeys.address] = "\(configuration.host):\(configuration.port)"
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.subscriptions = SubscriptionManager(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Owns the connections until graceful shutdown or cancellation; call it once.
    public func run() async {
        let (first, _) = started.compareExchange(expected: false, desired: true, ordering: .relaxed)
        precondition(first, "RedisClient.run() may be called only once")
        logger.debug("Redis client running", metadata: [RedisLoggingKeys.address: "\(configuration)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.pool.run() }
                group.addTask { await self.subscriptions.run() }
            }
        }
    }

    /// Sends any command — its name and arguments, each as a bulk string — on a pooled
    /// connection and returns the reply. An error reply throws ``RedisError/Code/serverError``.
    /// Do not send `SUBSCRIBE`, `MONITOR` or `SELECT` here: they change the connection for the
    /// next caller; use ``subscribe(channel:)`` and the configured database.
    @discardableResult
    public func send(_ command: [String]) async throws -> RESPValue {
        try await pool.withConnection { try await $0.send(command) }
    }

    /// Subscribes to `channel` on the client's pub/sub connection and returns its messages
    /// once Redis has confirmed the subscription: anything published after this returns is
    /// delivered, unless the connection drops first (see ``RedisSubscription``). The
    /// subscription survives reconnects. Fails with ``RedisError/Code/unavailable`` while Redis
    /// is unreachable.
    public func subscribe(channel: String) async throws -> RedisSubscription {
        try await subscriptions.subscribe(channel: channel)
    }
}
