import Synchronization

/// The revocation list of a single process. Entries drop out once every token they cover has
/// expired, so its size is bounded by the sessions revoked within one access-token lifetime.
public final class InMemoryRevocationList: RevocationList {
    private let entries = Mutex<[String: Timestamp]>([:])

    public init() {}

    public func revoke(sessionID: String, until: Timestamp) async throws {
        entries.withLock { entries in
            entries[sessionID] = max(until, entries[sessionID] ?? until)
            if entries.count % 1024 == 0 {
                let now = Timestamp.now()
                entries = entries.filter { $0.value > now }
            }
        }
    }

    public func isRevoked(sessionID: String, now: Timestamp) async throws -> Bool {
        entries.withLock { entries in
            guard let until = entries[sessionID] else { return false }
            if until <= now {
                entries[sessionID] = nil
                return false
            }
            return true
        }
    }
}
