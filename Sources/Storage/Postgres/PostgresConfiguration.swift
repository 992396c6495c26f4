import ChatterCore
import Foundation

/// Where and how `PostgresStore` connects.
///
/// Built from `CHATTER_DATABASE_URL`, `postgres://user:pass@host:port/db`. Query options:
/// `sslmode=disable|prefer|require` (default `prefer`: TLS when the server offers it),
/// `pool_size=N` caps the pool, `pool_min=N` keeps that many open, `acquire_timeout_ms=N`
/// bounds the wait for a connection, `keepalive_s=N` sets how often idle connections are pinged.
public struct PostgresConfiguration: Sendable, Hashable {
    /// The environment variable the server reads its database URL from.
    public static let environmentKey = "CHATTER_DATABASE_URL"

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// TLS use (`sslmode`).
    public var tls: TLSMode
    /// The most connections the pool opens (`pool_size`, default 20).
    public var maximumConnections: Int
    /// Connections the pool keeps open even when idle (`pool_min`; default nil: all of
    /// `maximumConnections`, a fixed-size pool).
    ///
    /// Why fixed by default: postgres-nio gives every connection above the minimum an idle
    /// timer each time it goes back to the pool and cancels it on the next lease — a task and
    /// a Dispatch timer per query, about 15% of a history read's CPU. A fixed pool has no
    /// such timers, and a burst (a client fleet reconnecting after a deploy) finds its
    /// connections ready instead of opening them just when a busy database is slowest to
    /// accept them. The cost is `maximumConnections` connections per process at all times;
    /// a smaller `pool_min` lets the pool shrink when idle.
    public var minimumConnections: Int?
    /// The connections the pool keeps open: `minimumConnections`, at most the maximum.
    public var effectiveMinimumConnections: Int {
        min(minimumConnections ?? maximumConnections, maximumConnections)
    }
    /// How long a call waits for a pooled connection before it fails with 503
    /// (`acquire_timeout_ms`, default 5 s). While the database is down, every call fails
    /// after at most this long instead of hanging.
    public var acquireTimeout: Duration
    /// How often the idle pool is pinged, one `SELECT 1` per connection (`keepalive_s`,
    /// default 30 s; `keepalive_s=0` turns it off). See `PoolKeepAlive`.
    public var keepAliveInterval: Duration? = .seconds(30)
    /// How long opening one connection may take (default 5 s).
    public var connectTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 5432, username: String, password: String? = nil,
                database: String, tls: TLSMode = .prefer, maximumConnections: Int = 20,
                acquireTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout
        self.connectTimeout = connectTimeout
    }

    /// Parses `postgres://user:pass@host:port/db?sslmode=disable` (`postgresql://` too).
    public init(url: String) throws {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()),
              let host = components.host, !host.isEmpty,
              let user = components.user, !user.isEmpty
        else {
            throw ChatterError(.internalError, "invalid database URL",
                               detail: "expected postgres://user:pass@host:port/db in \(PostgresConfiguration.environmentKey)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        var options: [String: String] = [:]
        for item in components.queryItems ?? [] { options[item.name] = item.value ?? "" }
        self.init(host: host, port: components.port ?? 5432,
                  username: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 },
                  database: database.isEmpty ? user : database,
                  tls: try TLSMode(sslmode: options["sslmode"]))
        if let size = options["pool_size"].flatMap(Int.init), size > 0 { maximumConnections = size }
        if let size = options["pool_min"].flatMap(Int.init), size >= 0 { minimumConnections = size }
        if let seconds = options["keepalive_s"].flatMap(Int.init), seconds >= 0 {
            keepAliveInterval = seconds == 0 ? nil : .seconds(seconds)
        }
        if let ms = options["acquire_timeout_ms"].flatMap(Int.init), ms > 0 { acquireTimeout = .milliseconds(ms) }
    }

    /// The configuration in `CHATTER_DATABASE_URL`, or nil when it is not set (SQLite then).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresConfiguration? {
        guard let url = environment[environmentKey], !url.isEmpty else { return nil }
        return try PostgresConfiguration(url: url)
    }

    /// How the connection uses TLS, after libpq's `sslmode` (certificates are verified
    /// against the system's trust roots when TLS is used).
    public struct TLSMode: Sendable, Hashable {
        enum Value: Hashable { case disable, prefer, require }
        let value: Value

        public static let disable = TLSMode(value: .disable)
        public static let prefer = TLSMode(value: .prefer)
        public static let require = TLSMode(value: .require)

        init(value: Value) { self.value = value }

        init(sslmode: String?) throws {
            switch sslmode {
            case nil, "", "prefer", "allow": self = .prefer
            case "disable": self = .disable
            case "require", "verify-ca", "verify-full": self = .require
            case let other?:
                throw ChatterError(.internalError, "invalid database URL", detail: "unknown sslmode \(other)")
            }
        }
    }
}
