/// Sessions whose access tokens must stop working before they expire (logout, theft).
/// In memory now; Redis when several processes must agree.
public protocol RevocationList: Sendable {
    /// Remembers `sessionID` as revoked until `until`, after which every token of it has expired.
    func revoke(sessionID: String, until: Timestamp) async throws
    func isRevoked(sessionID: String, now: Timestamp) async throws -> Bool
}
