import Crypto

/// A Lua script, with the SHA1 digest Redis knows it by. Make one per script, once (a
/// `static let`), and run it with ``RedisClient/evalScript(_:keys:args:)``.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The SHA1 of the source, 40 lowercase hex digits, as `EVALSHA` and `SCRIPT LOAD` use it.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        let digits = Array("0123456789abcdef")
        var hex = ""
        hex.reserveCapacity(40)
        for byte in Insecure.SHA1.hash(data: Array(source.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        self.sha1 = hex
    }
}

extension RedisClient {
    /// Runs `script` with `EVALSHA`, sending only its digest; if Redis does not have the script
    /// cached (`NOSCRIPT`, after a restart or `SCRIPT FLUSH`), runs it once with `EVAL`, which
    /// also caches it. The two commands share one connection. Script errors throw
    /// ``RedisError/Code/serverError``.
    @discardableResult
    public func evalScript(_ script: RedisScript, keys: [String] = [], args: [String] = []) async throws -> RESPValue {
        let operands = [String(keys.count)] + keys + args
        return try await pool.withConnection { connection in
            do {
                return try await connection.send(["EVALSHA", script.sha1] + operands)
            } catch let error as RedisError where error.serverErrorPrefix == "NOSCRIPT" {
                return try await connection.send(["EVAL", script.source] + operands)
            }
        }
    }
}
