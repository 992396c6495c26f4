import Logging
import NIOCore
import NIOPosix

/// One TCP connection to Redis, already authenticated (`AUTH`) and on its database (`SELECT`).
///
/// Commands may be sent from many tasks at once: they are pipelined, written as they come
/// without waiting for earlier replies, and each reply goes to its command in order. Each
/// command has `commandTimeout` to get its reply; one that does not fails with
/// ``RedisError/Code/timeout`` and the connection closes. Most code wants the pooled
/// ``RedisClient``; a connection of its own suits, say, a blocking `BLPOP` loop.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let id: Int
    private let status: ConnectionStatus
    private let commandTimeout: Duration
    private let logger: Logger

    private init(channel: any Channel, id: Int, status: ConnectionStatus, commandTimeout: Duration, logger: Logger) {
        self.channel = channel
        self.id = id
        self.status = status
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    /// Connects to the server `configuration` names and runs its handshake: `AUTH` if it has a
    /// password, `SELECT` if its database is not 0. Errors: the socket error, or the handshake's
    /// ``RedisError/Code/serverError`` (a wrong password, say), or ``RedisError/Code/timeout``.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> RedisConnection {
        try await connect(configuration: configuration, id: 0, eventLoopGroup: eventLoopGroup, logger: logger, onPush: nil)
    }

    static func connect(
        configuration: RedisConfiguration, id: Int, eventLoopGroup: any EventLoopGroup, logger: Logger,
        onPush: (@Sendable (RESPValue) -> Void)?
    ) async throws -> RedisConnection {
        var logger = logger
        logger[metadataKey: RedisLoggingKeys.connectionID] = "\(id)"
        let status = ConnectionStatus()
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPDecoder()),
                        MessageToByteHandler(RESPEncoder()),
                        RedisCommandHandler(status: status, onPush: onPush)
                    )
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .get()
        let connection = RedisConnection(
            channel: channel, id: id, status: status, commandTimeout: configuration.commandTimeout, logger: logger)
        do {
            if let password = configuration.password {
                let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try await connection.send(auth)
            }
            if configuration.database != 0 {
                _ = try await connection.send(["SELECT", String(configuration.database)])
            }
        } catch {
            channel.close(promise: nil)
            throw error
        }
        logger.debug("Connected to Redis", metadata: [RedisLoggingKeys.address: "\(configuration.host):\(configuration.port)"])
        return connection
    }

    /// Whether the connection still takes commands: open, not closing, no command timed out.
    public var isUsable: Bool { status.isUsable && channel.isActive }

    /// Sends `command` (its name and arguments, each sent as a bulk string) and returns the
    /// reply. An error reply throws ``RedisError/Code/serverError``.
    public func send(_ command: [String], timeout: Duration? = nil) async throws -> RESPValue {
        let reply = try await send(.array(command.map(RESPValue.bulkString)), timeout: timeout)
        if case .error(let message) = reply { throw RedisError(.serverError, message) }
        return reply
    }

    /// Sends a ready-made RESP value and returns the raw reply, error replies included.
    ///
    /// Cancelling the calling task returns at once with `CancellationError`; the command may
    /// still run, and its reply is read and dropped, so the replies after it stay matched.
    func send(_ command: RESPValue, timeout: Duration?) async throws -> RESPValue {
        try Task.checkCancellation()
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(command: command, promise: reply, timeout: TimeAmount(timeout ?? commandTimeout))
        channel.writeAndFlush(request).whenFailure { error in
            // The handler fails the reply itself; this covers a channel whose handlers are gone.
            reply.fail(error as? RedisError ?? RedisError(.connectionClosed, "write failed", underlying: error))
        }
        return try await withTaskCancellationHandler {
            try await reply.futureResult.get()
        } onCancel: {
            reply.fail(CancellationError())
        }
    }

    /// Closes the connection once the commands in flight have their replies (each bounded by
    /// its timeout); commands sent after this fail with ``RedisError/Code/connectionClosed``.
    public func close() async {
        channel.triggerUserOutboundEvent(RedisGracefulClose(), promise: nil)
        try? await channel.closeFuture.get()
    }

    /// Closes at once; commands in flight fail with ``RedisError/Code/connectionClosed``.
    func closeNow() {
        channel.close(promise: nil)
    }
}

extension RedisConnection {
    /// Starts a graceful ``close()`` without waiting for it.
    func startClose() {
        channel.triggerUserOutboundEvent(RedisGracefulClose(), promise: nil)
    }
}
