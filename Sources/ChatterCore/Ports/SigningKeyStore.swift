/// The private key material that signs access tokens, as raw bytes so the core stays free of
/// any crypto library. Files in the data directory now; a Vault KV store later.
public struct SigningKeyMaterial: Sendable, Hashable, Codable {
    /// `EdDSA` (Ed25519) is the only algorithm issued.
    public var algorithm: String
    public var keyID: String
    /// The 32-byte Ed25519 seed.
    public var privateKey: [UInt8]
    public var createdAt: Timestamp

    public init(algorithm: String, keyID: String, privateKey: [UInt8], createdAt: Timestamp) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.privateKey = privateKey
        self.createdAt = createdAt
    }
}

public protocol SigningKeyStore: Sendable {
    /// All keys that may verify tokens, newest first; the first one signs. Creates a key when
    /// there is none yet.
    func loadOrCreateKeys() async throws -> [SigningKeyMaterial]
}
