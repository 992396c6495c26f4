import Foundation

/// Settings for one Chatter process. Every field has a default that suits a laptop and an
/// environment variable (named in its doc comment) that overrides it; command-line flags
/// override both.
public struct ChatterConfiguration: Sendable {
    /// Address to listen on. `CHATTER_HOST`, default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one. `CHATTER_PORT`, default `8080`.
    public var port: Int = 8080
    /// Where the embedded store and the signing keys live. `CHATTER_DATA_DIR`, default `./chatter-data`.
    public var dataDirectory: String = "./chatter-data"
    /// The issuer and audience stamped into and required of access tokens.
    /// `CHATTER_TOKEN_ISSUER` (default `chatter`), `CHATTER_TOKEN_AUDIENCE` (default `chatter-api`).
    public var tokenIssuer: String = "chatter"
    public var tokenAudience: String = "chatter-api"
    /// Access-token lifetime. `CHATTER_ACCESS_TOKEN_TTL_SECONDS`, default 900 (15 minutes).
    public var accessTokenTTL: Int64 = 900
    /// Refresh-token lifetime; each rotation starts it again. `CHATTER_REFRESH_TOKEN_TTL_SECONDS`, default 30 days.
    public var refreshTokenTTL: Int64 = 30 * 24 * 3600
    /// bcrypt work factor, at least 10 outside tests. `CHATTER_BCRYPT_COST`, default 10.
    public var bcryptCost: Int = 10
    /// Threads that hash passwords, kept apart from the event loops so a login flood cannot
    /// stall message traffic. `CHATTER_PASSWORD_THREADS`, default 2.
    public var passwordHashThreads: Int = 2
    /// Password hashes that may wait for a thread before logins get 503. `CHATTER_PASSWORD_QUEUE`, default 256.
    public var passwordHashQueueLimit: Int = 256
    /// Largest request body accepted, in bytes. `CHATTER_MAX_BODY_BYTES`, default 65536.
    public var maxBodyBytes: Int = 64 * 1024
    /// Bytes of newest history pages a messaging instance keeps in memory, each served only
    /// while its chat is unchanged (`docs/architecture.md`, "History page cache").
    /// `CHATTER_HISTORY_CACHE_BYTES`, default 67108864 (64 MiB); 0 turns the cache off.
    public var historyCacheBytes: Int = 64 * 1024 * 1024
    /// Frames one WebSocket may have waiting before it is closed as too slow (4008).
    /// `CHATTER_WS_SEND_QUEUE`, default 1024.
    public var webSocketSendQueue: Int = 1024
    /// Time a WebSocket without an `Authorization` header has to send its `auth` frame, in ms.
    /// `CHATTER_WS_AUTH_TIMEOUT_MS`, default 10000.
    public var webSocketAuthTimeoutMs: Int = 10_000
    /// How often every WebSocket is pinged, in ms; one that stays silent (no pong) for two
    /// intervals is dropped. `CHATTER_WS_PING_INTERVAL_MS`, default 30000.
    public var webSocketPingIntervalMs: Int = 30_000
    /// How long a new WebSocket holds its live message events for the client's first frame (a
    /// reconnecting client's `sync`), so catch-up and live traffic arrive in one `seq` order.
    /// `CHATTER_WS_SYNC_WINDOW_MS`, default 1000; 0 turns the hold-back off.
    public var webSocketSyncWindowMs: Int = 1000
    /// How long a user stays online after their last socket closes, in ms, so quick reconnects
    /// do not flap. `CHATTER_PRESENCE_GRACE_MS`, default 5000.
    public var presenceGraceMs: Int = 5000
    /// Seconds a SIGTERM's graceful shutdown may take before the remaining work is cancelled;
    /// 5 s after that the process exits with status 1 whatever is still running, so a stuck
    /// component cannot keep a replaced instance alive. `CHATTER_SHUTDOWN_TIMEOUT_SECONDS`,
    /// default 30 (Kubernetes' default grace period).
    public var shutdownTimeoutSeconds: Int = 30
    /// Threads of the event-loop group that serves every socket. `CHATTER_EVENT_LOOP_THREADS`;
    /// unset (the default) means the CPUs this process may run on (its affinity mask, as
    /// `taskset` sets it), not all the machine's: more threads than CPUs only switch contexts.
    public var eventLoopThreads: Int?
    /// Redis for state that several processes must share (today: the access-token revocation
    /// list), as `redis://[user:password@]host:port[/db]`. `CHATTER_REDIS_URL`; unset (the
    /// default) keeps it in memory.
    public var redisURL: String?
    /// PostgreSQL for the roles' data instead of the embedded SQLite store, as
    /// `postgres://user:pass@host:port/db[?sslmode=…&pool_size=…&acquire_timeout_ms=…]`.
    /// `CHATTER_DATABASE_URL`; unset (the default) keeps everything in `dataDirectory`.
    public var databaseURL: String?
    /// Where the token-signing keys live. `CHATTER_KEYS_DIR`; unset (the default) means the
    /// data directory. Processes that serve the same users must share it (or its file), so a
    /// token signed by one verifies on all; in production it is a mounted secret.
    public var keysDirectory: String?
    /// The rate-limit rules to start with (JSON, see `docs/rate-limits.md`).
    /// `CHATTER_RATE_LIMITS_FILE`; unset (the default) uses the built-in rules.
    public var rateLimitsFile: String?
    /// The bearer token that opens the admin API (`/admin/v1/...`). `CHATTER_ADMIN_TOKEN`;
    /// unset (the default) leaves the admin API closed (403). In production it comes from the
    /// secret store, never from a file in the repository.
    public var adminToken: String?
    /// Peers whose `X-Real-IP`/`X-Forwarded-For` name the client (the ingress), as a comma
    /// list of addresses. `CHATTER_TRUSTED_PROXIES`; empty by default: the peer address counts.
    public var trustedProxies: [String] = []
    /// Log level (`trace` … `critical`). `CHATTER_LOG_LEVEL`, default `info`.
    public var logLevel: String = "info"
    /// `json` (one ECS-shaped object per line, for Filebeat/ELK), `text`, or `auto`: text on a
    /// terminal, JSON otherwise. Env `CHATTER_LOG_FORMAT`, default `auto`.
    public var logFormat: String = "auto"
    /// The roles this process runs. `CHATTER_ROLES` (or `chatter serve --role`), a comma list of
    /// gateway, auth, chat, messaging, notification; unset (the default) runs them all in one
    /// process. A subset needs PostgreSQL, Kafka and Redis, `internalToken`, and the
    /// `upstreams` of the roles it calls (docs/architecture.md, "Roles as processes").
    public var roles: Set<Role> = Set(Role.allCases)
    /// The shared secret that role processes present to each other's internal APIs
    /// (`/internal/v1/...`). `CHATTER_INTERNAL_TOKEN`, at least 16 characters; required when
    /// `roles` is a subset. Never sent to clients; the gateway never forwards `/internal/`.
    public var internalToken: String?
    /// Where each role's instances listen, for the processes that call them (the gateway for
    /// every route; chat asks auth and messaging; messaging asks chat; notification asks chat
    /// and messaging; every role reads auth's JWKS). `CHATTER_UPSTREAM_AUTH`, `…_CHAT`,
    /// `…_MESSAGING`, `…_NOTIFICATION`: comma lists of `http://host:port`; empty by default.
    public var upstreams: [Role: [String]] = [:]

    /// Whether this process runs every role (the all-in-one server).
    public var runsAllRoles: Bool { roles == Set(Role.allCases) }

    public init() {}

    /// The defaults overridden by whichever `CHATTER_*` variables are set in `environment`.
    public init(environment: [String: String]) throws {
        self.init()
        func string(_ name: String, _ target: inout String) {
            if let value = environment[name], !value.isEmpty { target = value }
        }
        func integer<T: FixedWidthInteger>(_ name: String, _ target: inout T, minimum: T) throws {
            guard let raw = environment[name], !raw.isEmpty else { return }
            guard let value = T(raw), value >= minimum else {
                throw ConfigurationError(variable: name, value: raw, expected: "an integer ≥ \(minimum)")
            }
            target = value
        }
        string("CHATTER_HOST", &host)
        try integer("CHATTER_PORT", &port, minimum: 0)
        string("CHATTER_DATA_DIR", &dataDirectory)
        string("CHATTER_TOKEN_ISSUER", &tokenIssuer)
        string("CHATTER_TOKEN_AUDIENCE", &tokenAudience)
        try integer("CHATTER_ACCESS_TOKEN_TTL_SECONDS", &accessTokenTTL, minimum: 1)
        try integer("CHATTER_REFRESH_TOKEN_TTL_SECONDS", &refreshTokenTTL, minimum: 1)
        try integer("CHATTER_BCRYPT_COST", &bcryptCost, minimum: 4)
        try integer("CHATTER_PASSWORD_THREADS", &passwordHashThreads, minimum: 1)
        try integer("CHATTER_PASSWORD_QUEUE", &passwordHashQueueLimit, minimum: 1)
        try integer("CHATTER_MAX_BODY_BYTES", &maxBodyBytes, minimum: 1024)
        try integer("CHATTER_HISTORY_CACHE_BYTES", &historyCacheBytes, minimum: 0)
        try integer("CHATTER_WS_SEND_QUEUE", &webSocketSendQueue, minimum: 1)
        try integer("CHATTER_WS_AUTH_TIMEOUT_MS", &webSocketAuthTimeoutMs, minimum: 1)
        try integer("CHATTER_PRESENCE_GRACE_MS", &presenceGraceMs, minimum: 0)
        try integer("CHATTER_SHUTDOWN_TIMEOUT_SECONDS", &shutdownTimeoutSeconds, minimum: 1)
        var threads = 0
        try integer("CHATTER_EVENT_LOOP_THREADS", &threads, minimum: 1)
        if threads > 0 { eventLoopThreads = threads }
        try integer("CHATTER_WS_PING_INTERVAL_MS", &webSocketPingIntervalMs, minimum: 100)
        try integer("CHATTER_WS_SYNC_WINDOW_MS", &webSocketSyncWindowMs, minimum: 0)
        string("CHATTER_LOG_LEVEL", &logLevel)
        string("CHATTER_LOG_FORMAT", &logFormat)
        if let url = environment["CHATTER_REDIS_URL"], !url.isEmpty { redisURL = url }
        if let url = environment["CHATTER_DATABASE_URL"], !url.isEmpty { databaseURL = url }
        if let path = environment["CHATTER_KEYS_DIR"], !path.isEmpty { keysDirectory = path }
        if let path = environment["CHATTER_RATE_LIMITS_FILE"], !path.isEmpty { rateLimitsFile = path }
        if let token = environment["CHATTER_ADMIN_TOKEN"], !token.isEmpty {
            guard token.utf8.count >= 16 else {
                throw ConfigurationError(variable: "CHATTER_ADMIN_TOKEN", value: "(hidden)", expected: "at least 16 characters")
            }
            adminToken = token
        }
        if let value = environment["CHATTER_ROLES"], !value.isEmpty { roles = try Role.parseList(value) }
        if let token = environment["CHATTER_INTERNAL_TOKEN"], !token.isEmpty {
            guard token.utf8.count >= 16 else {
                throw ConfigurationError(variable: "CHATTER_INTERNAL_TOKEN", value: "(hidden)", expected: "at least 16 characters")
            }
            internalToken = token
        }
        for role in Role.allCases where role != .gateway {
            let name = "CHATTER_UPSTREAM_\(role.rawValue.uppercased())"
            if let value = environment[name], !value.isEmpty {
                upstreams[role] = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        }
        if let proxies = environment["CHATTER_TRUSTED_PROXIES"] {
            trustedProxies = proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard port <= 65535 else {
            throw ConfigurationError(variable: "CHATTER_PORT", value: String(port), expected: "a port from 0 to 65535")
        }
        guard bcryptCost <= 31 else {
            throw ConfigurationError(variable: "CHATTER_BCRYPT_COST", value: String(bcryptCost), expected: "4 to 31")
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var variable: String
    public var value: String
    public var expected: String

    /// Public so adapters that read their own variables (Kafka's) report them the same way.
    public init(variable: String, value: String, expected: String) {
        self.variable = variable
        self.value = value
        self.expected = expected
    }

    public var description: String { "\(variable)=\(value) is invalid: expected \(expected)" }
}
