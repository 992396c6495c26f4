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
        /// Largest client frame accepted; bigger ones close the socket with 1009.
        public var maxFrameBytes = 64 * 1024

        public init() {}
    }

    let configuration: Configuration
    let authenticator: any BearerAuthenticator
    let messaging: MessagingService
    let registry = ConnectionRegistry()
    let members: MembersCache
    let presence: PresenceTracker
    /// Long-lived parts of this role, to be run in the application's service group.
    public let services: [any Service]

    public init(
        configuration: Configuration, authenticator: any BearerAuthenticator, messaging: MessagingService,
        chats: any ChatMembersLookup, revocations: any RevocationList, log: any EventLog, logger: Logger
    ) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.messaging = messaging
        members = MembersCache(lookup: chats)
        presence = PresenceTracker(registry: registry, contacts: chats, grace: configuration.presenceGrace, logger: logger)
        services = [
            EventDispatcher(log: log, registry: registry, members: members, group: "notification-\(Identifier.make())", logger: logger),
            presence,
            RevocationWatcher(registry: registry, revocations: revocations),
        ]
    }

    /// How long a requested close may take before the socket is dropped without a close frame.
    static let closeGrace: Duration = .seconds(2)

    /// Open sockets in this process.
    public var connectionCount: Int { registry.count }

    /// Closes every socket with 1001 "going away" and waits (up to `timeout`) for them to go, so
    /// clients learn to reconnect elsewhere before the HTTP server starts draining.
    public func closeAllGoingAway(timeout: Duration = .seconds(2)) async {
        for connection in registry.all {
            connection.requestClose(code: 1001, reason: "server going away", dropPending: false)
        }
        let deadline = ContinuousClock.now + timeout
        while registry.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    public func addRoutes(to router: Router<ChatterRequestContext>) {
        router.ws("/v1/ws") { request, _ in
            // A bad header token is refused before the upgrade, as a plain 401.
            if let header = request.headers[.authorization] {
                _ = try await authenticator.authenticate(authorizationHeader: header)
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            await serve(
                inbound: inbound, outbound: outbound, request: context.request, channel: context.requestContext.channel,
                logger: context.logger)
        }
    }

    /// One socket from upgrade to close.
    func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, channel: any Channel, logger: Logger
    ) async {
        let current = ConnectionSlot()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let header = request.headers[.authorization] {
                    guard let identity = try? await authenticator.authenticate(authorizationHeader: header) else {
                        try? await outbound.close(.init(codeNumber: Int(CloseCode.authenticationFailed)), reason: "invalid token")
                        return
                    }
                    current.set(start(identity, outbound: outbound, channel: channel, group: &group))
                } else {
                    group.addTask {
                        try? await Task.sleep(for: configuration.authenticationTimeout)
                        if !Task.isCancelled, current.get() == nil {
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
                              let token = frame.token, let identity = try? await authenticator.authenticate(bearer: token)
                        else {
                            try? await outbound.close(.init(codeNumber: Int(CloseCode.authenticationFailed)), reason: "authentication failed")
                            break
                        }
                        current.set(start(identity, outbound: outbound, channel: channel, group: &group))
                    }
                } catch {
                    logger.debug("websocket inbound ended", metadata: [LoggingKeys.errorDetail: "\(error)"])
                }
                if let connection = current.get() {
                    connection.requestClose(code: 1000, reason: "", dropPending: true)
                    presence.disconnected(userID: connection.userID, last: registry.remove(connection))
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            current.get()?.requestClose(code: 1001, reason: "server going away", dropPending: false)
        }
    }

    /// Registers an authenticated connection and starts the task that writes its queue.
    private func start(
        _ identity: Identity, outbound: WebSocketOutboundWriter, channel: any Channel, group: inout TaskGroup<Void>
    ) -> Connection {
        let connection = Connection(userID: identity.userID, sessionID: identity.sessionID, queueCapacity: configuration.sendQueueCapacity)
        connection.send(ServerFrame.ready(userID: identity.userID, sessionID: identity.sessionID))
        let first = registry.add(connection)
        group.addTask {
            await presence.connected(connection, first: first)
        }
        group.addTask {
            while let frame = await connection.queue.next() {
                do { try await outbound.write(.text(frame)) } catch { break }
            }
            if let close = connection.closeRequest, close.code != 1000 {
                try? await outbound.close(.init(codeNumber: Int(close.code)), reason: close.reason)
            }
        }
        group.addTask {
            // A client that stopped reading blocks the writer, so even the close frame may never
            // leave. Give it a moment, then drop the TCP connection.
            await connection.waitForCloseRequest()
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: Self.closeGrace)
            guard !Task.isCancelled else { return }
            channel.close(promise: nil)
        }
        return connection
    }
}

/// The connection of one socket once it has authenticated, shared by its tasks.
final class ConnectionSlot: Sendable {
    private let value = Mutex<Connection?>(nil)

    func get() -> Connection? { value.withLock { $0 } }
    func set(_ connection: Connection) { value.withLock { $0 = connection } }
}
