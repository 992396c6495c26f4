/// Where Redis is and how the client treats it. Every property has a default; most deployments
/// only set the URL.
///
/// The server takes `CHATTER_REDIS_URL` (`redis://[[user]:password@]host[:port][/db]`), read
/// with ``init(url:)``; the limits below keep their defaults unless code sets them.
public struct RedisConfiguration: Sendable, Hashable {
    /// Host name or IP address. Default `127.0.0.1`. From `CHATTER_REDIS_URL`.
    public var host: String
    /// TCP port. Default `6379`. From `CHATTER_REDIS_URL`.
    public var port: Int
    /// ACL user for `AUTH user password`; `nil` sends `AUTH password`. From `CHATTER_REDIS_URL`.
    public var username: String?
    /// Password for `AUTH`; `nil` skips `AUTH`. From `CHATTER_REDIS_URL`.
    public var password: String?
    /// Database index sent with `SELECT` on every new connection. Default `0`. From `CHATTER_REDIS_URL`'s path.
    public var database: Int

    /// Most connections the pool opens for commands (pub/sub has one more of its own). Default 8.
    public var maximumConnections: Int
    /// How long a command waits for a pooled connection before failing with
    /// ``RedisError/Code/unavailable``. Default 2 s.
    public var connectionRequestTimeout: Duration
    /// How long a TCP connect may take. Default 2 s.
    public var connectTimeout: Duration
    /// How long a command waits for its reply before failing with ``RedisError/Code/timeout``
    /// (which closes its connection). Default 2 s; give blocking commands their own timeout.
    public var commandTimeout: Duration
    /// Delay before the first reconnect attempt after Redis could not be reached; it doubles
    /// with every failed attempt. Default 100 ms.
    public var reconnectInitialDelay: Duration
    /// Most time between reconnect attempts, and so the longest the client can take to notice
    /// that Redis is back. Default 5 s.
    public var reconnectMaximumDelay: Duration
    /// Messages held for each subscription whose consumer has not taken them yet; past that the
    /// oldest are dropped (and a warning logged). Default 1024.
    public var subscriptionBufferSize: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.maximumConnections = 8
        self.connectionRequestTimeout = .seconds(2)
        self.connectTimeout = .seconds(2)
        self.commandTimeout = .seconds(2)
        self.reconnectInitialDelay = .milliseconds(100)
        self.reconnectMaximumDelay = .seconds(5)
        self.subscriptionBufferSize = 1024
    }

    /// Checks the values that cannot work, so a bad setting fails at start-up.
    func validate() throws(RedisError) {
        func check(_ condition: Bool, _ detail: String) throws(RedisError) {
            if !condition { throw RedisError(.invalidConfiguration, detail) }
        }
        try check(!host.isEmpty, "host is empty")
        try check((1...65535).contains(port), "port \(port) outside 1...65535")
        try check(database >= 0, "database \(database) is negative")
        try check(maximumConnections >= 1, "maximumConnections must be at least 1")
        try check(subscriptionBufferSize >= 1, "subscriptionBufferSize must be at least 1")
        try check(username == nil || password != nil, "a username needs a password")
        for (name, value) in [("connectionRequestTimeout", connectionRequestTimeout), ("connectTimeout", connectTimeout),
                              ("commandTimeout", commandTimeout), ("reconnectInitialDelay", reconnectInitialDelay),
                              ("reconnectMaximumDelay", reconnectMaximumDelay)] {
            try check(value > .zero, "\(name) must be positive")
        }
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The URL form, with any password masked.
    public var description: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(credentials)\(shownHost):\(port)/\(database)"
    }
}
