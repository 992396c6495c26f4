/// Sessions whose access tokens must stop working before they expire (logout, theft).
/// In memory now; Redis when several processes must agree.
public protocol RevocationList: Sendable {
    /// Remembers `sessionID` as revoked until `until`, after which every token of it has expired.
    func revoke(sessionID: String, until: Timestamp) async throws
    func isRevoked(sessionID: String, now: Timestamp) async throws -> Bool
    func revoked(among sessionIDs: [String], now: Timestamp) async throws -> Set<String>
}

extension RevocationList {
    /// Which of `sessionIDs` are revoked. Adapters where each lookup is a round trip answer
    /// them all in one (the socket sweep asks for every open session twice a second).
    public func revoked(among sessionIDs: [String], now: Timestamp) async throws -> Set<String> {
        var revoked: Set<String> = []
        for sessionID in sessionIDs where try await isRevoked(sessionID: sessionID, now: now) {
            revoked.insert(sessionID)
        }
        return revoked
    }
}
