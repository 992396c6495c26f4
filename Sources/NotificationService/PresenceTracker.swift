import ChatterCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Online/offline for users who share a chat. Going offline waits out a grace period, so a
/// quick reconnect (a network switch, a page reload) does not flap.
final class PresenceTracker: Service, Sendable {
    let registry: ConnectionRegistry
    let contacts: any ChatMembersLookup
    let grace: Duration
    let logger: Logger
    /// Other processes' users and sockets; nil when this process is alone.
    let shared: SharedRealtime?
    private let pendingOffline = Mutex<[String: ContinuousClock.Instant]>([:])

    init(registry: ConnectionRegistry, contacts: any ChatMembersLookup, grace: Duration, shared: SharedRealtime?, logger: Logger) {
        self.registry = registry
        self.contacts = contacts
        self.grace = grace
        self.shared = shared
        self.logger = logger
    }

    /// Which of `users` have a socket in another process (none when alone, or when that cannot
    /// be learnt right now: presence is best effort).
    private func onlineElsewhere(_ users: Set<String>) async -> Set<String> {
        guard let shared, !users.isEmpty else { return [] }
        do {
            return try await shared.directory.onlineElsewhere(among: users, instance: shared.instance)
        } catch {
            logger.warning("reading presence of other processes failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
            return []
        }
    }

    /// After a connection is registered. Tells contacts when the user comes online and tells the
    /// new connection who among its contacts is online.
    func connected(_ connection: Connection, first: Bool) async {
        let wasPending = pendingOffline.withLock { $0.removeValue(forKey: connection.userID) != nil }
        if let shared {
            do {
                try await shared.directory.markOnline([connection.userID], instance: shared.instance, ttl: shared.markLifetime)
            } catch {
                logger.warning("marking a user online failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }
        }
        let userContacts = (try? await contacts.contactIDs(of: connection.userID)) ?? []
        let elsewhere = await onlineElsewhere(userContacts.union([connection.userID]))
        for contact in userContacts where registry.isOnline(contact) || elsewhere.contains(contact) {
            connection.sendPresence(userID: contact, online: true, frame: ByteBuffer(string: ServerFrame.presence(userID: contact, online: true)))
        }
        // Already online in another process: contacts know.
        if first && !wasPending && !elsewhere.contains(connection.userID) {
            await broadcast(userID: connection.userID, online: true, to: userContacts)
        }
    }

    func disconnected(userID: String, last: Bool) {
        guard last else { return }
        let deadline = ContinuousClock.now + grace
        pendingOffline.withLock { $0[userID] = deadline }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in Ticks(every: .milliseconds(250)) {
                let now = ContinuousClock.now
                let expired = self.pendingOffline.withLock { pending -> [String] in
                    let due = pending.filter { $0.value <= now }.map(\.key)
                    for user in due { pending[user] = nil }
                    return due
                }
                for user in expired where !self.registry.isOnline(user) {
                    if let shared = self.shared {
                        try? await shared.directory.markOffline(user, instance: shared.instance)
                        // Still connected in another process (a reconnect landed there).
                        if await self.onlineElsewhere([user]).contains(user) { continue }
                    }
                    let userContacts = (try? await self.contacts.contactIDs(of: user)) ?? []
                    await self.broadcast(userID: user, online: false, to: userContacts)
                }
            }
        }
    }

    private func broadcast(userID: String, online: Bool, to userContacts: Set<String>) async {
        let text = ServerFrame.presence(userID: userID, online: online)
        let frame = ByteBuffer(string: text)
        for connection in registry.connections(of: userContacts) {
            connection.sendPresence(userID: userID, online: online, frame: frame)
        }
        await shared?.publish(text, to: userContacts, logger: logger)
    }
}
