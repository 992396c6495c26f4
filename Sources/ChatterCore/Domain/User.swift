/// A registered account as every client sees it.
public struct User: Sendable, Hashable, Codable {
    public var id: String
    public var username: String
    public var displayName: String
    public var createdAt: Timestamp

    public init(id: String, username: String, displayName: String, createdAt: Timestamp) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, username
        case displayName = "display_name"
        case createdAt = "created_at"
    }
}

/// A user together with the password hash, which only the auth role ever reads.
public struct UserCredentials: Sendable {
    public var user: User
    public var passwordHash: String

    public init(user: User, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
    }
}
