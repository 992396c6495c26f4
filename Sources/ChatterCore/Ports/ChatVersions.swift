/// A token per chat that changes whenever the chat's messages change, shared by every process
/// that writes those messages or caches pages of them.
///
/// It is what lets a messaging instance answer a history page from memory and still show every
/// message acknowledged anywhere before the request: a writer replaces the token after its
/// commit and before its answer, and a cached page is only served while the token it was read
/// under is still the current one. Tokens are never reused, so a token that was lost (a Redis
/// restart, an expiry) can only make a cached page miss, never make a stale one match.
public protocol ChatVersions: Sendable {
    /// The chat's current token; a new one, never handed out before, if none is held.
    func current(chatID: String) async throws -> String
    /// Replaces each chat's token with a new one, never handed out before — in one call, so
    /// that concurrent changes can share it.
    func bump(chatIDs: [String]) async throws
}
