import ChatterCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the token-signing keys in `signing-keys.json` in the data directory, readable by the
/// owner only (mode 0600), so tokens stay valid across restarts of the embedded server.
public struct FileSigningKeyStore: SigningKeyStore {
    public let path: String

    public init(directory: String) {
        path = (directory as NSString).appendingPathComponent("signing-keys.json")
    }

    struct KeyFile: Codable {
        var keys: [SigningKeyMaterial]
    }

    public func loadOrCreateKeys() async throws -> [SigningKeyMaterial] {
        if FileManager.default.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let file: KeyFile
            do {
                file = try JSONDecoder().decode(KeyFile.self, from: data)
            } catch {
                throw ChatterError(.internalError, "signing key file is unreadable", detail: "\(path): \(error)")
            }
            if chmod(path, 0o600) != 0 {
                throw ChatterError(.internalError, "cannot restrict signing key file", detail: "chmod \(path) failed: errno \(errno)")
            }
            if !file.keys.isEmpty {
                return file.keys.sorted { $0.createdAt > $1.createdAt }
            }
        }
        let now = Timestamp.now()
        let key = SigningKeyMaterial(
            algorithm: "EdDSA", keyID: Base64URL.encode(Identifier.randomBytes(9)), privateKey: Identifier.randomBytes(32), createdAt: now)
        try write(KeyFile(keys: [key]))
        return [key]
    }

    /// Writes to a temporary file created 0600 and renames it over the old one, so a crash
    /// never leaves a half-written or world-readable key file.
    private func write(_ file: KeyFile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(file)
        let temporary = path + ".tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw ChatterError(.internalError, "cannot write signing keys", detail: "open \(temporary): errno \(errno)")
        }
        let written = data.withUnsafeBytes { SystemWrite(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ChatterError(.internalError, "cannot write signing keys", detail: "writing \(path) failed: errno \(errno)")
        }
    }
}

#if canImport(Glibc)
private let SystemWrite = Glibc.write
#else
private let SystemWrite = Darwin.write
#endif
