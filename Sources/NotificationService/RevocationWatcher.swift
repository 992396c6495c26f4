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
        let now = Timestamp.now()
        var verdicts: [String: Bool] = [:]
        for connection in registry.all {
            let revoked: Bool
            if let known = verdicts[connection.sessionID] {
                revoked = known
            } else {
                revoked = (try? await revocations.isRevoked(sessionID: connection.sessionID, now: now)) ?? false
                verdicts[connection.sessionID] = revoked
            }
            if revoked {
                connection.requestClose(code: CloseCode.sessionRevoked, reason: "session revoked", dropPending: true)
            }
        }
    }
}
