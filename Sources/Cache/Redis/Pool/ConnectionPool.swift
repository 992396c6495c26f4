import Logging
import NIOCore
import Synchronization

/// Runs ``PoolStateMachine`` for real connections: callers wait on continuations with a
/// timeout, and `run()` opens the connections the machine asks for, as child tasks of itself.
final class ConnectionPool: Sendable {
    private typealias Waiter = CheckedContinuation<RedisConnection, any Error>
    private typealias Machine = PoolStateMachine<RedisConnection, Waiter>
    private struct ConnectRequest: Sendable {
        let id: Int
        let delay: Duration?
    }

    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<Machine>
    private let requests: AsyncStream<ConnectRequest>
    private let requestSink: AsyncStream<ConnectRequest>.Continuation
    private let nextWaiterID = Atomic<Int>(0)

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        let backoff = Backoff(initial: configuration.reconnectInitialDelay, maximum: configuration.reconnectMaximumDelay)
        self.state = Mutex(Machine(maximumConnections: configuration.maximumConnections, backoff: backoff))
        (self.requests, self.requestSink) = AsyncStream.makeStream(of: ConnectRequest.self)
    }

    /// Runs `body` with a connection to itself, then puts the connection back.
    func withConnection<Value>(_ body: (RedisConnection) async throws -> Value) async throws -> Value {
        let connection = try await lease()
        defer { release(connection) }
        return try await body(connection)
    }

    /// Waits up to `connectionRequestTimeout` for a connection; fails at once with
    /// ``RedisError/Code/unavailable`` while Redis is known to be unreachable.
    func lease() async throws -> RedisConnection {
        // Nearly always a connection is idle or can be shared: no continuation then.
        switch state.withLock({ $0.leaseWithoutWaiting(isUsable: \.isUsable) }) {
        case .leased(let connection):
            return connection
        case .shared(let connection, let connectID):
            if let connectID { requestSink.yield(ConnectRequest(id: connectID, delay: nil)) }
            return connection
        case .failed(let error):
            throw error
        case .wait, nil:
            break
        }
        let waiterID = nextWaiterID.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let result = state.withLock { $0.lease(waiterID: waiterID, waiter: waiter, isUsable: \.isUsable) }
                switch result {
                case .leased(let connection):
                    waiter.resume(returning: connection)
                case .shared(let connection, let connectID):
                    if let connectID { requestSink.yield(ConnectRequest(id: connectID, delay: nil)) }
                    waiter.resume(returning: connection)
                case .failed(let error):
                    waiter.resume(throwing: error)
                case .wait(let connectID):
                    if let connectID { requestSink.yield(ConnectRequest(id: connectID, delay: nil)) }
                    let timeout = configuration.connectionRequestTimeout
                    eventLoopGroup.any().scheduleTask(in: TimeAmount(timeout)) {
                        self.dropWaiter(waiterID, RedisError(
                            .unavailable, "no Redis connection free within \(timeout) (all busy, or run() is not running)"))
                    }
                    // Cancelled before the waiter was queued: the handler below found nothing to drop.
                    if Task.isCancelled { dropWaiter(waiterID, CancellationError()) }
                }
            }
        } onCancel: {
            dropWaiter(waiterID, CancellationError())
        }
    }

    func release(_ connection: RedisConnection) {
        let actions = state.withLock { $0.release(id: connection.id, connection, isUsable: connection.isUsable) }
        perform(actions)
    }

    /// Opens connections until cancelled (the client's graceful shutdown cancels it), then fails
    /// every waiter and closes every connection, waiting for their commands in flight.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await request in requests {
                group.addTask { await self.connect(request) }
            }
            let actions = state.withLock { $0.shutdown() }
            requestSink.finish()
            for connection in actions.close {
                group.addTask { await connection.close() }
            }
            perform(Machine.Actions(fail: actions.fail))
            group.cancelAll()
        }
        logger.debug("Redis connection pool shut down")
    }

    private func connect(_ request: ConnectRequest) async {
        if let delay = request.delay {
            guard (try? await Task.sleep(for: delay)) != nil else {
                perform(state.withLock { $0.connectionFailed(CancellationError()) })
                return
            }
        }
        do {
            let connection = try await RedisConnection.connect(
                configuration: configuration, id: request.id, eventLoopGroup: eventLoopGroup, logger: logger, onPush: nil)
            let (actions, wasDown) = state.withLock { machine in
                let wasDown = machine.failures > 0
                return (machine.connectionEstablished(id: request.id, connection), wasDown)
            }
            connection.channel.closeFuture.whenComplete { _ in
                self.state.withLock { $0.connectionClosed(id: request.id) }
            }
            if wasDown { logger.info("Reconnected to Redis") }
            perform(actions)
            if !actions.close.isEmpty { await connection.close() }
        } catch {
            let (actions, failures) = state.withLock { ($0.connectionFailed(error), $0.failures) }
            if failures == 1 || failures.isMultiple(of: 10), let retry = actions.connect.first?.delay {
                logger.warning("Cannot connect to Redis; retrying", metadata: [
                    RedisLoggingKeys.error: "\(String(reflecting: error))",
                    RedisLoggingKeys.retryDelay: "\(retry)",
                ])
            }
            perform(actions)
        }
    }

    private func dropWaiter(_ id: Int, _ error: any Error) {
        state.withLock { $0.removeWaiter(id: id) }?.resume(throwing: error)
    }

    private func perform(_ actions: Machine.Actions) {
        for (connection, waiter) in actions.lease { waiter.resume(returning: connection) }
        for (waiter, error) in actions.fail { waiter.resume(throwing: error) }
        for request in actions.connect { requestSink.yield(ConnectRequest(id: request.id, delay: request.delay)) }
        for connection in actions.close { connection.startClose() }
    }
}
