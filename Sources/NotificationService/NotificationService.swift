import ChatterCore
import ChatterHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import MessagingService
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization
import Telemetry

/// The real-time role: holds WebSockets, fans chat events out to members, answers client
/// frames (send, typing, ping, sync), tracks presence and closes revoked sessions.
public struct NotificationService: Sendable {
    public struct Configuration: Sendable {
        /// Frames that may wait for one slow socket before it is closed with 4008.
        public var sendQueueCapacity = 1024
        /// Time a connection without an `Authorization` header has to send its `auth` frame.
        public var authenticationTimeout: Duration = .seconds(10)
        /// How long a user stays "online" after their last connection closes.
        public var presenceGrace: Duration = .seconds(5)
        /// At most one typing broadcast per chat per connection in this interval.
        public var typingInterval: Duration = .seconds(2)
        /// How often every socket is pinged; one silent for two intervals is dropped.
        public var pingInterval: Duration = .seconds(30)
        /// Largest client frame accepted; bigger ones close the socket with 1009.
        public var maxFrameBytes = 64 * 1024
        /// How long a new connection holds its live message events for the client's first frame
        /// (a reconnecting client's `sync`), so the replay and live traffic reach it in `seq`
        /// order (`Connection.releaseHold`). Zero turns the hold-back off.
        public var syncWindow: Duration = .seconds(1)

        public init() {}
    }

    let configuration: Configuration
    let authenticator: any BearerAuthenticator
    let messaging: any MessagingOperations
    let registry = ConnectionRegistry()
    let members: MembersCache
    let presence: PresenceTracker
    let closer = SocketCloser()
    /// Set once shutdown has begun: a socket that finishes authenticating after the sweep of
    /// `closeAllGoingAway` closes itself with 1001 too.
    let goingAway = GoingAwayFlag()
    /// Typing and presence across processes; nil when this process is alone.
    let shared: SharedRealtime?
    let logger: Logger
    let metrics: ChatterMetrics
    /// How far this process' event dispatcher is behind the log, for metrics.
    public let dispatcherLag: ConsumerLagProbe
    /// Long-lived parts of this role, to be run in the application's service group.
    public let services: [any Service]

    public init(
        configuration: Configuration, authenticator: any BearerAuthenticator, messaging: any MessagingOperations,
        chats: any ChatMembersLookup, revocations: any RevocationList, log: any EventLog, shared: SharedRealtime? = nil,
        metrics: ChatterMetrics = ChatterMetrics(), logger: Logger
    ) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.messaging = messaging
        self.shared = shared
        self.logger = logger
        self.metrics = metrics
        let group = "notification-\(Identifier.make())"
        dispatcherLag = ConsumerLagProbe(topic: ChatEvent.topic, consumer: "notification")
        members = MembersCache(lookup: chats)
        presence = PresenceTracker(registry: registry, contacts: chats, grace: configuration.presenceGrace, shared: shared, logger: logger)
        var sharedServices: [any Service] = []
        if let shared {
            sharedServices.append(SharedRealtimeService(shared: shared, registry: registry, logger: logger))
        }
        services = sharedServices + [
            EventDispatcher(
                log: log, registry: registry, members: members, group: group, lag: dispatcherLag, metrics: metrics, logger: logger),
            presence,
            closer,
            Heartbeat(registry: registry, interval: configuration.pingInterval),
            RevocationWatcher(registry: registry, revocations: revocations),
        ]
    }

    /// The `reason` label of `chatter_websocket_connections_closed_total` for a close code.
    static func closeReason(_ code: UInt16?) -> String {
        switch code {
        case 1000, nil: "client"
        case 1001: "shutdown"
        case CloseCode.sessionRevoked: "revoked"
        case CloseCode.tooSlow: "slow_consumer"
        default: "error"
        }
    }

    /// How long a requested close may take before the socket is dropped without a close frame.
    static let closeGrace: Duration = .seconds(2)

    /// Open sockets in this process.
    public var connectionCount: Int { registry.count }

    /// Closes every socket with 1001 "going away" and waits (up to `timeout`) for them to go, so
    /// clients learn to reconnect elsewhere before the HTTP server starts draining.
    public func closeAllGoingAway(timeout: Duration = .seconds(2)) async {
        goingAway.set()
        for connection in registry.all {
            connection.requestClose(code: 1001, reason: "server going away", dropPending: false)
        }
        let deadline = ContinuousClock.now + timeout
        while registry.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    public func addRoutes(to router: Router<ChatterRequestContext>) {
        // Every upgrade is accepted and the token checked on the socket: a refused upgrade
        // could only be the framework's bare 400, while a close code says what went wrong
        // (4001 bad token, 1013 try again later) the same way for both ways of authenticating.
        router.ws("/v1/ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            await serve(
                inbound: inbound, outbound: outbound, request: context.request, channel: context.requestContext.channel,
                logger: context.logger)
        }
    }

    /// One socket from upgrade to close. The socket's only task is this one, reading client
    /// frames: outgoing frames are written on the event loop by the connection's writer, and
    /// timers and closes are scheduled there or handed to the shared closer.
    func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, channel: any Channel, logger: Logger
    ) async {
        let current = ConnectionSlot()
        let output = ChannelFrameOutput(channel: channel)
        let activity = SocketActivity()
        try? await channel.pipeline.addHandler(SocketActivityHandler(activity: activity), position: .first).get()
        await withGracefulShutdownHandler {
            var authTimeout: Scheduled<Void>?
            if let header = request.headers[.authorization] {
                guard let identity = await authenticateOrClose(outbound, failure: "invalid token", {
                    try await authenticator.authenticate(authorizationHeader: header)
                }) else { return }
                await start(identity, output: output, activity: activity, outbound: outbound, channel: channel, into: current)
            } else {
                authTimeout = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.authenticationTimeout)) {
                    guard current.get() == nil else { return }
                    closer.enqueue {
                        try? await outbound.close(.init(codeNumber: Int(CloseCode.authenticationFailed)), reason: "authentication timeout")
                    }
                }
            }
            do {
                for try await message in inbound.messages(maxSize: configuration.maxFrameBytes) {
                    guard case .text(let text) = message else {
                        current.get()?.send(ServerFrame.error(ChatterError(Self.invalidFrame, "frames must be JSON text")))
                        continue
                    }
                    if let connection = current.get() {
                        await handle(text, on: connection)
                        continue
                    }
                    // Unauthenticated: the only acceptable frame is `auth`.
                    guard let frame = try? JSONDecoder().decode(ClientFrame.self, from: Data(text.utf8)), frame.type == "auth",
                          let token = frame.token
                    else {
                        try? await outbound.close(.init(codeNumber: Int(CloseCode.authenticationFailed)), reason: "authentication failed")
                        break
                    }
                    guard let identity = await authenticateOrClose(outbound, failure: "authentication failed", {
                        try await authenticator.authenticate(bearer: token)
                    }) else { break }
                    authTimeout?.cancel()
                    await start(identity, output: output, activity: activity, outbound: outbound, channel: channel, into: current)
                }
            } catch {
                logger.debug("websocket inbound ended", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }
            authTimeout?.cancel()
            if let connection = current.get() {
                connection.requestClose(code: 1000, reason: "", dropPending: true)
                metrics.webSocketClosed(reason: Self.closeReason(connection.closeRequest?.code))
                presence.disconnected(userID: connection.userID, last: registry.remove(connection))
            }
        } onGracefulShutdown: {
            current.get()?.requestClose(code: 1001, reason: "server going away", dropPending: false)
        }
    }

    /// The identity `attempt` proves, or nil after closing the socket. A token that could not be
    /// checked (a dependency is down) is not a bad token: the client should retry later (1013),
    /// not log in again (4001).
    private func authenticateOrClose(
        _ outbound: WebSocketOutboundWriter, failure reason: String, _ attempt: () async throws -> Identity
    ) async -> Identity? {
        do {
            return try await attempt()
        } catch let error as ChatterError where error.code == .unavailable {
            try? await outbound.close(.init(codeNumber: Int(CloseCode.tryAgainLater)), reason: "service unavailable, try again later")
        } catch {
            try? await outbound.close(.init(codeNumber: Int(CloseCode.authenticationFailed)), reason: reason)
        }
        return nil
    }

    /// Registers an authenticated connection, greets it and tells presence.
    private func start(
        _ identity: Identity, output: ChannelFrameOutput, activity: SocketActivity, outbound: WebSocketOutboundWriter,
        channel: any Channel, into slot: ConnectionSlot
    ) async {
        let closer = self.closer
        let connection = Connection(
            userID: identity.userID, sessionID: identity.sessionID, output: output, queueCapacity: configuration.sendQueueCapacity,
            activity: activity, holdLive: configuration.syncWindow > .zero
        ) { connection, request in
            // 1000 is the reader's own exit: the framework closes the socket itself.
            guard request.code != 1000 else { return }
            // A client that stopped reading blocks even the close frame: give it a moment,
            // then drop the TCP connection.
            channel.eventLoop.scheduleTask(in: TimeAmount(Self.closeGrace)) {
                channel.close(promise: nil)
            }
            closer.enqueue {
                await connection.writer.drained()
                try? await outbound.close(.init(codeNumber: Int(request.code)), reason: request.reason)
            }
        }
        connection.send(ServerFrame.ready(userID: identity.userID, sessionID: identity.sessionID))
        if configuration.syncWindow > .zero {
            // A timer on the socket's event loop, not a task: it costs nothing while it waits.
            channel.eventLoop.scheduleTask(in: TimeAmount(configuration.syncWindow)) { connection.releaseHold() }
        }
        slot.set(connection)
        let first = registry.add(connection)
        metrics.webSocketOpened()
        // Registered before the check: either the shutdown sweep saw this socket, or this sees
        // the flag the sweep set first.
        if goingAway.isSet {
            connection.requestClose(code: 1001, reason: "server going away", dropPending: false)
        }
        await presence.connected(connection, first: first)
    }
}

/// The connection of one socket once it has authenticated, shared by its tasks.
final class ConnectionSlot: Sendable {
    private let value = Mutex<Connection?>(nil)

    func get() -> Connection? { value.withLock { $0 } }
    func set(_ connection: Connection) { value.withLock { $0 = connection } }
}

/// Whether the process has started closing sockets for shutdown.
final class GoingAwayFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}
