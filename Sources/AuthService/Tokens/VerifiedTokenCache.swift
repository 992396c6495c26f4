import ChatterCore
import Synchronization

/// Claims of access tokens whose signature, issuer and audience were already checked, by the
/// exact token text.
///
/// Every authenticated request verifies its token: decoding three base64url parts, parsing two
/// JSON objects and an Ed25519 check cost more than the rest of a history read. A client sends
/// the same token for its whole lifetime (15 minutes), so the first check can be reused: the
/// same bytes verified by the same keys give the same answer. What depends on the clock
/// (expiry, not-before) is checked again on every use. A verifier built with other keys starts
/// with an empty cache, so a key that is dropped stops covering its tokens at once.
final class VerifiedTokenCache: Sendable {
    private let entries = Mutex<[String: AccessTokenClaims]>([:])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    func claims(for token: String) -> AccessTokenClaims? {
        entries.withLock { $0[token] }
    }

    /// Remembers `claims`. When full, expired tokens go first; if that frees nothing, the cache
    /// starts over (a burst of distinct tokens is rare and the cost is one verify each).
    func insert(_ claims: AccessTokenClaims, for token: String, now: Timestamp) {
        entries.withLock { entries in
            if entries.count >= capacity {
                let nowSeconds = now.secondsSinceEpoch
                entries = entries.filter { $0.value.expiresAt > nowSeconds - AccessTokens.leeway }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = claims
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
