import ChatterCore
import RedisClient

/// The revocation list in Redis, shared by every process: one key per revoked session that
/// expires when the last access token it covers does, so Redis forgets it by itself.
public struct RedisRevocationList: RevocationList {
    let redis: RedisClient
    let prefix: String

    public init(redis: RedisClient, prefix: String = "chatter:revoked:") {
        self.redis = redis
        self.prefix = prefix
    }

    public func revoke(sessionID: String, until: Timestamp) async throws {
        let remaining = until.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch
        guard remaining > 0 else { return }  // every token it covered has expired already
        try await Self.mapErrors {
            try await redis.set(prefix + sessionID, String(until.millisecondsSinceEpoch), expiresIn: .milliseconds(remaining))
        }
    }

    public func isRevoked(sessionID: String, now: Timestamp) async throws -> Bool {
        try await Self.mapErrors {
            guard let value = try await redis.get(prefix + sessionID), let until = Int64(value) else { return false }
            return until > now.millisecondsSinceEpoch
        }
    }

    /// One `MGET` per 512 sessions instead of a `GET` each.
    public func revoked(among sessionIDs: [String], now: Timestamp) async throws -> Set<String> {
        var revoked: Set<String> = []
        var start = sessionIDs.startIndex
        while start < sessionIDs.endIndex {
            let chunk = sessionIDs[start..<min(start + 512, sessionIDs.endIndex)]
            let values = try await Self.mapErrors { try await redis.getMany(chunk.map { prefix + $0 }) }
            for (sessionID, value) in zip(chunk, values) {
                if let value, let until = Int64(value), until > now.millisecondsSinceEpoch { revoked.insert(sessionID) }
            }
            start = chunk.endIndex
        }
        return revoked
    }

    /// Redis trouble is the client's 503, never a 500 and never "not revoked".
    static func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            throw ChatterError.unavailable("the cache", detail: "\(error)")
        }
    }
}
