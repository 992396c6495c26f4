import ChatterCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the token-signing keys in `signing-keys.json` in the keys directory (the data directory unless `CHATTER_KEYS_DIR` says otherwise), readable by the
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
        let exists = FileManager.default.fileExists(atPath: path)
        if exists {
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
        // Several processes sharing one keys directory (CHATTER_KEYS_DIR) may start at once:
        // the first to install its key wins, the others load the winner's.
        if try !write(KeyFile(keys: [key]), replacing: exists) {
            return try await loadOrCreateKeys()
        }
        return [key]
    }

    /// Writes to a temporary file created 0600 and then installs it, so a crash never leaves a
    /// half-written or world-readable key file. Without `replacing`, the file is installed
    /// only if none exists yet (a hard link fails then), and false says another won.
    private func write(_ file: KeyFile, replacing: Bool) throws -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(file)
        let temporary = path + ".tmp-" + Base64URL.encode(Identifier.randomBytes(6))
        defer { unlink(temporary) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw ChatterError(.internalError, "cannot write signing keys", detail: "open \(temporary): errno \(errno)")
        }
        let written = data.withUnsafeBytes { SystemWrite(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0 else {
            throw ChatterError(.internalError, "cannot write signing keys", detail: "writing \(temporary) failed: errno \(errno)")
        }
        if replacing {
            guard rename(temporary, path) == 0 else {
                throw ChatterError(.internalError, "cannot write signing keys", detail: "rename to \(path) failed: errno \(errno)")
            }
            return true
        }
        if link(temporary, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw ChatterError(.internalError, "cannot write signing keys", detail: "link to \(path) failed: errno \(errno)")
    }
}

#if canImport(Glibc)
private let SystemWrite = Glibc.write
#else
private let SystemWrite = Darwin.write
#endif
