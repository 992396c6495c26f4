import ChatterCore
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// The policy every request is checked against, replaceable at run time.
///
/// Alone (embedded mode) a change applies to this process until it restarts. With Redis, a
/// change is stored under `key` and announced on `channel`; every gateway applies it when the
/// announcement arrives (well within a second), and also checks the stored version every few
/// seconds in case an announcement was missed while its pub/sub connection was down. A gateway
/// that starts while Redis holds a policy uses that one rather than its file.
final class RateLimitPolicyStore: Sendable {
    private struct State {
        var policy: RateLimitPolicy
        /// The Redis version the policy came from (0: the file or the defaults).
        var version: Int64
    }

    private let state: Mutex<State>
    let redis: RedisClient?
    let logger: Logger
    static let key = "{chatter:rate-limits}:policy"
    static let versionKey = "{chatter:rate-limits}:version"
    static let channel = "chatter:rate-limits:changed"

    init(initial: RateLimitPolicy, redis: RedisClient?, logger: Logger) {
        state = Mutex(State(policy: initial, version: 0))
        self.redis = redis
        self.logger = logger
    }

    var current: RateLimitPolicy { state.withLock { $0.policy } }

    /// Replaces the policy everywhere (validated first). With Redis down this fails with 503
    /// and changes nothing: a change that reached only some gateways would split the budget.
    func replace(with policy: RateLimitPolicy) async throws {
        try policy.validate()
        guard let redis else {
            state.withLock { $0 = State(policy: policy, version: 0) }
            logger.notice("rate-limit rules replaced", metadata: ["rules": "\(policy.rules.count)"])
            return
        }
        let json = String(decoding: policy.encoded(), as: UTF8.self)
        let version: Int64
        do {
            let reply = try await redis.evalScript(Self.storeScript, keys: [Self.key, Self.versionKey], args: [json, Self.channel])
            guard let stored = reply.integer else { throw ChatterError(.internalError, "unexpected reply \(reply)") }
            version = Int64(stored)
        } catch {
            throw ChatterError.unavailable("redis", detail: "storing the rate-limit rules: \(error)")
        }
        apply(policy, version: version)
    }

    /// Numbers, stores and announces a policy in one atomic step, so two concurrent changes
    /// cannot leave an older policy stored under a newer number. The keys share a hash tag
    /// (one slot in a Redis cluster).
    static let storeScript = RedisScript("""
        local version = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], version .. '\\n' .. ARGV[1])
        redis.call('PUBLISH', ARGV[2], version)
        return version
        """)

    /// Applies a policy read from Redis unless a newer one is already in place.
    private func apply(_ policy: RateLimitPolicy, version: Int64) {
        let changed = state.withLock { state -> Bool in
            guard version > state.version else { return false }
            state = State(policy: policy, version: version)
            return true
        }
        if changed {
            logger.notice("rate-limit rules applied", metadata: ["version": "\(version)", "rules": "\(policy.rules.count)"])
        }
    }

    /// Reads the stored policy from Redis and applies it when it is newer than the one in use.
    func refresh() async throws {
        guard let redis, let stored = try await redis.get(Self.key) else { return }
        guard let newline = stored.firstIndex(of: "\n"), let version = Int64(stored[..<newline]) else {
            logger.warning("ignoring malformed rate-limit rules in Redis")
            return
        }
        do {
            apply(try RateLimitPolicy.decode(Data(stored[stored.index(after: newline)...].utf8)), version: version)
        } catch {
            logger.warning("ignoring invalid rate-limit rules in Redis", metadata: [LoggingKeys.errorDetail: "\(error)"])
        }
    }
}

/// Keeps a gateway's `RateLimitPolicyStore` in step with Redis: listens for announcements and
/// re-reads the stored policy on each, and every `fallbackInterval` regardless.
struct RateLimitPolicySync: Service {
    let store: RateLimitPolicyStore
    let redis: RedisClient
    let logger: Logger
    var fallbackInterval: Duration = .seconds(5)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await listen() }
                group.addTask { await poll() }
            }
        }
    }

    private func listen() async {
        while !Task.isCancelled {
            do {
                let changes = try await redis.subscribe(channel: RateLimitPolicyStore.channel)
                // Anything stored before the subscription was confirmed is read now.
                try? await store.refresh()
                for await _ in changes {
                    do { try await store.refresh() } catch {
                        logger.warning("reading changed rate-limit rules failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("rate-limit rule subscription failed; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: fallbackInterval)
            if Task.isCancelled { return }
            try? await store.refresh()
        }
    }
}
