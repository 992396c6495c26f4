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
    private let pendingOffline = Mutex<[String: ContinuousClock.Instant]>([:])

    init(registry: ConnectionRegistry, contacts: any ChatMembersLookup, grace: Duration, logger: Logger) {
        self.registry = registry
        self.contacts = contacts
        self.grace = grace
        self.logger = logger
    }

    /// After a connection is registered. Tells contacts when the user comes online and tells the
    /// new connection who among its contacts is online.
    func connected(_ connection: Connection, first: Bool) async {
        let wasPending = pendingOffline.withLock { $0.removeValue(forKey: connection.userID) != nil }
        let userContacts = (try? await contacts.contactIDs(of: connection.userID)) ?? []
        for contact in userContacts where registry.isOnline(contact) {
            connection.send(ServerFrame.presence(userID: contact, online: true))
        }
        if first && !wasPending {
            broadcast(userID: connection.userID, online: true, to: userContacts)
        }
    }

    func disconnected(userID: String, last: Bool) {
        guard last else { return }
        let deadline = ContinuousClock.now + grace
        pendingOffline.withLock { $0[userID] = deadline }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                let now = ContinuousClock.now
                let expired = self.pendingOffline.withLock { pending -> [String] in
                    let due = pending.filter { $0.value <= now }.map(\.key)
                    for user in due { pending[user] = nil }
                    return due
                }
                for user in expired where !self.registry.isOnline(user) {
                    let userContacts = (try? await self.contacts.contactIDs(of: user)) ?? []
                    self.broadcast(userID: user, online: false, to: userContacts)
                }
            }
        }
    }

    private func broadcast(userID: String, online: Bool, to userContacts: Set<String>) {
        let frame = ByteBuffer(string: ServerFrame.presence(userID: userID, online: online))
        for connection in registry.connections(of: userContacts) {
            connection.send(frame)
        }
    }
}
