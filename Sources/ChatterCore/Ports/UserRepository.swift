/// Accounts, owned by the auth role.
public protocol UserRepository: Sendable {
    /// Stores a new account. Throws `ChatterError` `.usernameTaken` when the case-folded
    /// username already exists.
    func create(_ user: User, passwordHash: String) async throws
    func user(id: String) async throws -> User?
    /// Looks a user up by username, case-insensitively.
    func credentials(username: String) async throws -> UserCredentials?
    /// Users whose username starts with `prefix` (case-insensitive), ordered by username.
    func search(prefix: String, limit: Int) async throws -> [User]
    /// The users among `ids` that exist, in no particular order.
    func users(ids: [String]) async throws -> [User]
}
