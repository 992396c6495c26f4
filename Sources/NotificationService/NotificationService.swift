import ChatterCore
import ChatterHTTP
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MessagingService
import NIOCore
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
    let jobs = SocketJobs()
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
            jobs,
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

    /// Takes over a socket the moment it is upgraded (on its event loop): installs its frame
    /// handler and starts authentication — by the upgrade's `Authorization` header, or by a
    /// first `auth` frame within the timeout. Every upgrade is accepted and the token checked
    /// on the socket: a refused upgrade could only be a bare 400, while a close code says what
    /// went wrong (4001 bad token, 1013 try again later) the same way for both ways of
    /// authenticating.
    func accept(channel: any Channel, authorization: String?) throws {
        let session = SocketSession(channel: channel)
        try channel.pipeline.syncOperations.addHandler(
            WebSocketFrameHandler(session: session, sink: self, maxMessageBytes: configuration.maxFrameBytes))
        if let authorization {
            received(.authorization(authorization), on: session)
        } else {
            // A timer on the socket's event loop, not a task: it costs nothing while it waits.
            channel.eventLoop.scheduleTask(in: TimeAmount(configuration.authenticationTimeout)) {
                guard session.connection == nil else { return }
                session.closeOnLoop(code: CloseCode.authenticationFailed, reason: "authentication timeout")
            }
        }
    }

    /// Answers one socket's queued inputs in order, then ends; the next input starts a new job.
    func drain(_ session: SocketSession) async {
        while let input = session.pop() {
            await process(input, on: session)
        }
    }

    private func process(_ input: SocketSession.Input, on session: SocketSession) async {
        switch input {
        case .authorization(let header):
            guard let identity = await authenticateOrClose(session, failure: "invalid token", {
                try await authenticator.authenticate(authorizationHeader: header)
            }) else { return }
            await start(identity, session: session)
        case .text(let text):
            if let connection = session.connection {
                await handle(text, on: connection)
                return
            }
            guard !session.isClosing else { return }
            // Unauthenticated: the only acceptable frame is `auth`.
            guard let frame = try? JSONDecoder().decode(ClientFrame.self, from: Data(text.utf8)), frame.type == "auth",
                  let token = frame.token
            else {
                return session.close(code: CloseCode.authenticationFailed, reason: "authentication failed")
            }
            guard let identity = await authenticateOrClose(session, failure: "authentication failed", {
                try await authenticator.authenticate(bearer: token)
            }) else { return }
            await start(identity, session: session)
        case .binary:
            session.connection?.send(ServerFrame.error(ChatterError(Self.invalidFrame, "frames must be JSON text")))
        case .ended:
            guard let connection = session.connection else { return }
            connection.requestClose(code: 1000, reason: "", dropPending: true)
            metrics.webSocketClosed(reason: Self.closeReason(connection.closeRequest?.code))
            presence.disconnected(userID: connection.userID, last: registry.remove(connection))
        }
    }

    /// The identity `attempt` proves, or nil after closing the socket. A token that could not be
    /// checked (a dependency is down) is not a bad token: the client should retry later (1013),
    /// not log in again (4001).
    private func authenticateOrClose(
        _ session: SocketSession, failure reason: String, _ attempt: () async throws -> Identity
    ) async -> Identity? {
        do {
            return try await attempt()
        } catch let error as ChatterError where error.code == .unavailable {
            session.close(code: CloseCode.tryAgainLater, reason: "service unavailable, try again later")
        } catch {
            session.close(code: CloseCode.authenticationFailed, reason: reason)
        }
        return nil
    }

    /// Registers an authenticated connection, greets it and tells presence.
    private func start(_ identity: Identity, session: SocketSession) async {
        guard !session.isClosing else { return }
        let jobs = self.jobs
        let channel = session.channel
        let connection = Connection(
            userID: identity.userID, sessionID: identity.sessionID, output: session.output,
            queueCapacity: configuration.sendQueueCapacity, activity: session.activity, holdLive: configuration.syncWindow > .zero
        ) { connection, request in
            // 1000 is the socket's own end: the TCP connection is already gone.
            guard request.code != 1000 else { return }
            // A client that stopped reading blocks even the close frame: give it a moment,
            // then drop the TCP connection.
            channel.eventLoop.scheduleTask(in: SocketSession.closeGrace) { channel.close(promise: nil) }
            jobs.enqueue {
                await connection.writer.drained()
                session.close(code: request.code, reason: request.reason)
            }
        }
        connection.send(ServerFrame.ready(userID: identity.userID, sessionID: identity.sessionID))
        if configuration.syncWindow > .zero {
            // A timer on the socket's event loop, not a task: it costs nothing while it waits.
            channel.eventLoop.scheduleTask(in: TimeAmount(configuration.syncWindow)) { connection.releaseHold() }
        }
        session.attach(connection)
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

extension NotificationService: SocketInputSink {
    func received(_ input: SocketSession.Input, on session: SocketSession) {
        if session.push(input) {
            jobs.enqueue { await self.drain(session) }
        }
    }

    func quiesce(_ session: SocketSession) {
        if let connection = session.connection {
            connection.requestClose(code: 1001, reason: "server going away", dropPending: false)
        } else {
            session.close(code: 1001, reason: "server going away")
        }
    }
}

/// Whether the process has started closing sockets for shutdown.
final class GoingAwayFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}
