import ChatterCore
import RedisClient
import Synchronization

/// Chat versions in Redis, shared by every messaging instance: one key per chat holding its
/// current token. Tokens are this process's random nonce and a counter, so two processes (or
/// one restarted) never hand out the same token. A key expires a day after it was last set;
/// an expired or lost key only costs the next read a miss.
public final class RedisChatVersions: ChatVersions {
    let redis: RedisClient
    let prefix: String
    let lifetime: Duration
    private let nonce: String
    private let counter = Atomic<UInt64>(0)

    public init(redis: RedisClient, prefix: String = "chatter:chat-version:", lifetime: Duration = .seconds(24 * 3600)) {
        self.redis = redis
        self.prefix = prefix
        self.lifetime = lifetime
        var generator = SystemRandomNumberGenerator()
        self.nonce = String(generator.next() as UInt64, radix: 36)
    }

    /// KEYS[1] the chat's key; ARGV a fresh token and its lifetime in ms. Returns the token
    /// held, storing the fresh one first if there was none — atomically, so two readers of a
    /// missing key agree on one token.
    static let currentOrNew = RedisScript("""
        local held = redis.call('GET', KEYS[1])
        if held then return held end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return ARGV[1]
        """)

    public func current(chatID: String) async throws -> String {
        try await RedisRevocationList.mapErrors {
            // A plain GET answers nearly every read; the script only runs for a missing key.
            if let held = try await redis.get(prefix + chatID) { return held }
            let reply = try await redis.evalScript(
                Self.currentOrNew, keys: [prefix + chatID], args: [freshToken(), String(lifetime.components.seconds * 1000)])
            guard let token = reply.string else {
                throw ChatterError(.internalError, "unexpected chat version reply", detail: "\(reply)")
            }
            return token
        }
    }

    /// KEYS the chats' keys; ARGV a fresh token per key, then the lifetime in ms.
    static let replaceAll = RedisScript("""
        local lifetime = ARGV[#ARGV]
        for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'PX', lifetime) end
        return #KEYS
        """)

    public func bump(chatIDs: [String]) async throws {
        guard !chatIDs.isEmpty else { return }
        try await RedisRevocationList.mapErrors {
            if chatIDs.count == 1 {
                try await redis.set(prefix + chatIDs[0], freshToken(), expiresIn: lifetime)
            } else {
                _ = try await redis.evalScript(
                    Self.replaceAll, keys: chatIDs.map { prefix + $0 },
                    args: chatIDs.map { _ in freshToken() } + [String(lifetime.components.seconds * 1000)])
            }
        }
    }

    private func freshToken() -> String {
        nonce + "." + String(counter.wrappingAdd(1, ordering: .relaxed).newValue, radix: 36)
    }
}
