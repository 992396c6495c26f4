import ChatterCore
import Crypto
import Foundation

/// Refresh tokens are 256 random bits, shown to the client once and stored only as a SHA-256
/// hash, so a leaked database cannot be replayed as sessions.
enum RefreshTokens {
    static func make() -> String {
        Base64URL.encode(Identifier.randomBytes(32))
    }

    static func hash(_ token: String) -> String {
        Identifier.hex(Array(SHA256.hash(data: Data(token.utf8))))
    }

    /// Cheap shape check before touching the store: 32 bytes of base64url.
    static func looksValid(_ token: String) -> Bool {
        token.utf8.count == 43 && Base64URL.decode(token)?.count == 32
    }
}
