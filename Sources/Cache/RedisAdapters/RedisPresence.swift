import ChatterCore
import Foundation
import RedisClient

/// Presence in Redis: one hash per user, `chatter:presence:<user>`, field = instance, value =
/// until when (ms, Redis' clock) that instance holds the user. Reads ignore lapsed fields, so a
/// crashed instance's users go offline when its marks lapse; the key itself expires with the
/// newest mark.
public struct RedisPresenceDirectory: PresenceDirectory {
    let redis: RedisClient
    let prefix: String

    public init(redis: RedisClient, prefix: String = "chatter:presence:") {
        self.redis = redis
        self.prefix = prefix
    }

    /// KEYS users' hashes; ARGV[1] instance, ARGV[2] ttl ms.
    static let markScript = RedisScript("""
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local ttl = tonumber(ARGV[2])
        for _, key in ipairs(KEYS) do
          redis.call('HSET', key, ARGV[1], now + ttl)
          if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
        end
        return #KEYS
        """)

    /// KEYS users' hashes; ARGV[1] the asking instance. Returns the indexes (1-based) of users
    /// with an unlapsed mark from another instance.
    static let onlineScript = RedisScript("""
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local online = {}
        for index, key in ipairs(KEYS) do
          local fields = redis.call('HGETALL', key)
          for i = 1, #fields, 2 do
            if fields[i] ~= ARGV[1] and tonumber(fields[i + 1]) > now then
              table.insert(online, index)
              break
            end
          end
        end
        return online
        """)

    public func markOnline(_ users: Set<String>, instance: String, ttl: Duration) async throws {
        guard !users.isEmpty else { return }
        let milliseconds = max(1, Int(ttl / .milliseconds(1)))
        for batch in Array(users).chunked(500).map(Array.init) {
            _ = try await redis.evalScript(Self.markScript, keys: batch.map { prefix + $0 }, args: [instance, String(milliseconds)])
        }
    }

    public func markOffline(_ userID: String, instance: String) async throws {
        _ = try await redis.send(["HDEL", prefix + userID, instance])
    }

    /// `SET NX PX`: the first claim in an interval creates the key, the rest find it.
    public func claimTyping(userID: String, chatID: String, interval: Duration) async throws -> Bool {
        try await redis.setIfAbsent("chatter:typing:\(chatID):\(userID)", "1", expiresIn: interval)
    }

    public func onlineElsewhere(among users: Set<String>, instance: String) async throws -> Set<String> {
        var online = Set<String>()
        for batch in Array(users).chunked(500).map(Array.init) {
            let reply = try await redis.evalScript(Self.onlineScript, keys: batch.map { prefix + $0 }, args: [instance])
            for index in reply.array ?? [] {
                if let position = index.integer, position >= 1, Int(position) <= batch.count { online.insert(batch[Int(position) - 1]) }
            }
        }
        return online
    }
}

/// Signals over Redis pub/sub on one channel: every real-time process publishes and subscribes.
public struct RedisSignalBus: SignalBus {
    let redis: RedisClient
    let channel: String

    public init(redis: RedisClient, channel: String = "chatter:signals") {
        self.redis = redis
        self.channel = channel
    }

    public func publish(_ signal: Signal) async throws {
        let data = try JSONEncoder().encode(signal)
        _ = try await redis.publish(String(decoding: data, as: UTF8.self), to: channel)
    }

    public func signals() async throws -> AsyncStream<Signal> {
        let subscription = try await redis.subscribe(channel: channel)
        return AsyncStream { continuation in
            let pump = Task {
                for await message in subscription {
                    if let signal = try? JSONDecoder().decode(Signal.self, from: Data(message.string.utf8)) {
                        continuation.yield(signal)
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
