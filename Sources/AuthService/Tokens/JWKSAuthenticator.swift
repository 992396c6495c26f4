import ChatterCore
import ChatterHTTP
import Synchronization

/// Verifies bearer tokens in a process that does not run the auth role: with the public keys
/// from auth's JWKS, and the shared revocation list (Redis).
///
/// The key set is fetched on first use and kept. A token naming a `kid` the set lacks (auth
/// rotated its key) makes it fetch again, but at most once per `refetchInterval`, so tokens
/// with made-up key ids cannot turn into a flood against auth. A set older than `maxAge` is
/// refreshed on the next request, so a retired key stops verifying; if auth cannot be reached
/// then, the set in hand is kept. With no set at all and auth unreachable, the answer is 503.
public final class JWKSAuthenticator: BearerAuthenticator {
    public typealias Fetch = @Sendable () async throws -> JWKS

    private struct State {
        var verifier: AccessTokenVerifier?
        var fetchedAt: ContinuousClock.Instant?
    }

    let fetch: Fetch
    let issuer: String
    let audience: String
    let revocations: any RevocationList
    let refetchInterval: Duration
    let maxAge: Duration
    private let state = Mutex(State())

    public init(
        issuer: String, audience: String, revocations: any RevocationList,
        refetchInterval: Duration = .seconds(1), maxAge: Duration = .seconds(300), fetch: @escaping Fetch
    ) {
        self.fetch = fetch
        self.issuer = issuer
        self.audience = audience
        self.revocations = revocations
        self.refetchInterval = refetchInterval
        self.maxAge = maxAge
    }

    public func authenticate(bearer token: String) async throws -> Identity {
        let claims: AccessTokenClaims
        if let cached = try cachedClaims(token) {
            claims = cached
        } else {
            let verifier = try await verifier(for: AccessTokenVerifier.keyID(of: token))
            claims = try verifier.verify(token)
        }
        if try await revocations.isRevoked(sessionID: claims.sessionID, now: .now()) {
            throw ChatterError(.unauthorized, "invalid or expired access token", detail: "session revoked")
        }
        return Identity(userID: claims.subject, sessionID: claims.sessionID, tokenID: claims.tokenID)
    }

    /// A token the current key set already verified, while that key set is not due for its
    /// refresh: no header to parse, no key to look up.
    private func cachedClaims(_ token: String) throws -> AccessTokenClaims? {
        let now = ContinuousClock.now
        let fresh = state.withLock { state -> AccessTokenVerifier? in
            guard let verifier = state.verifier, let fetchedAt = state.fetchedAt, now - fetchedAt < maxAge else { return nil }
            return verifier
        }
        return try fresh?.cachedClaims(token)
    }

    /// The key set to check a token naming `keyID` with, fetched again when that is due.
    func verifier(for keyID: String?) async throws -> AccessTokenVerifier {
        let now = ContinuousClock.now
        let (current, due) = state.withLock { state -> (AccessTokenVerifier?, Bool) in
            guard let verifier = state.verifier, let fetchedAt = state.fetchedAt else { return (nil, true) }
            let unknownKey = keyID.map { !verifier.keyIDs.contains($0) } ?? false
            let stale = now - fetchedAt >= maxAge
            let mayFetch = now - fetchedAt >= refetchInterval
            return (verifier, (unknownKey && mayFetch) || stale)
        }
        if let current, !due { return current }
        do {
            let fresh = AccessTokenVerifier(jwks: try await fetch(), issuer: issuer, audience: audience)
            state.withLock { state in
                state.verifier = fresh
                state.fetchedAt = ContinuousClock.now
            }
            return fresh
        } catch {
            if let current {
                // Keep checking with the keys in hand; try again after the interval.
                state.withLock { $0.fetchedAt = max($0.fetchedAt ?? now, now - maxAge + refetchInterval) }
                return current
            }
            throw ChatterError.unavailable("auth", detail: "cannot fetch the JWKS: \(error)")
        }
    }
}
