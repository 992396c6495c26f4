import ChatterCore
import ServiceLifecycle

/// Closes the sockets of sessions revoked by logout or refresh-token theft, within half a
/// second. It asks the same revocation list the HTTP side uses, so it works unchanged when that
/// list moves to Redis and the revoking request hit another process.
struct RevocationWatcher: Service {
    let registry: ConnectionRegistry
    let revocations: any RevocationList

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in Ticks(every: .milliseconds(500)) { await sweep() }
        }
    }

    func sweep() async {
        let connections = registry.all
        guard !connections.isEmpty else { return }
        let sessions = Array(Set(connections.map(\.sessionID)))
        // A list that cannot answer now closes nothing; the next sweep asks again.
        guard let revoked = try? await revocations.revoked(among: sessions, now: .now()), !revoked.isEmpty else { return }
        for connection in connections where revoked.contains(connection.sessionID) {
            connection.requestClose(code: CloseCode.sessionRevoked, reason: "session revoked", dropPending: true)
        }
    }
}
