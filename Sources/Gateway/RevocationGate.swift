import AuthService
import ChatterCore
import Logging
import ServiceLifecycle
import Synchronization

/// An in-process revocation list that answers only once it has been filled from the session
/// store. With PostgreSQL the store is reachable only after the service group has started, so
/// the list cannot be filled before serving as it is on SQLite; until it is, a token check
/// answers 503 instead of accepting a token whose session was revoked before a restart.
final class GatedRevocationList: RevocationList {
    private let inner: any RevocationList
    private let open = Atomic<Bool>(false)

    init(_ inner: any RevocationList) {
        self.inner = inner
    }

    var isOpen: Bool { open.load(ordering: .acquiring) }

    func markRestored() {
        open.store(true, ordering: .releasing)
    }

    func revoke(sessionID: String, until: Timestamp) async throws {
        try await inner.revoke(sessionID: sessionID, until: until)
    }

    func isRevoked(sessionID: String, now: Timestamp) async throws -> Bool {
        try requireOpen()
        return try await inner.isRevoked(sessionID: sessionID, now: now)
    }

    func revoked(among sessionIDs: [String], now: Timestamp) async throws -> Set<String> {
        try requireOpen()
        return try await inner.revoked(among: sessionIDs, now: now)
    }

    private func requireOpen() throws {
        guard isOpen else {
            throw ChatterError.unavailable("revocations", detail: "the revocation list is still being restored from the session store")
        }
    }
}

/// Fills a `GatedRevocationList` from the session store once the store runs, retrying while it
/// is unreachable, then opens it. Never fails the process.
struct GatedRevocationRestore: Service {
    let auth: AuthService
    let gate: GatedRevocationList
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var delay = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    try await auth.restoreRevocations(logger: logger)
                    gate.markRestored()
                    return
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("restoring session revocations failed; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                }
            }
        }
        // The other services run until shutdown; so does this one, having nothing left to do.
        try? await gracefulShutdown()
    }
}
