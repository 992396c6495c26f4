/// What `chatter load` does. Every run is bounded in time and targets one server.
public struct LoadConfiguration: Sendable {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    public var baseURL: String
    /// Users, each with one WebSocket, spread evenly over `groups` group chats.
    public var users: Int = 200
    public var groups: Int = 20
    /// Total messages per second across all senders; 0 sends as fast as acks come back.
    public var rate: Int = 1000
    /// How long to send, in seconds.
    public var duration: Double = 10
    /// After sending stops, how long to wait for outstanding deliveries.
    public var drainSeconds: Double = 5
    /// The server's pid, to report its resident memory.
    public var serverPID: Int32?
    /// Idle mode: open this many authenticated sockets, send nothing, report memory per socket.
    public var idleConnections: Int = 0
    /// Prefix for the usernames this run registers, so runs never collide.
    public var runID: String
    /// Print a live progress line to standard error.
    public var progress: Bool = true
    /// The checker for fault injection: a socket that closes is reopened and `sync`s from the
    /// last seq it saw, and a send that is not acknowledged within `resendAfter` (its socket
    /// died, or the server answered an error such as 503) is sent again with the same
    /// `client_msg_id` until it is. Each user is then one logical client across its sockets, and
    /// the verdict (lost, duplicated, reordered, unseen) is judged over all of them.
    public var check: Bool = false
    /// With `check`: how long an unacknowledged send waits before it is sent again.
    public var resendAfter: Duration = .seconds(2)

    public init(baseURL: String, runID: String) {
        self.baseURL = baseURL
        self.runID = runID
    }
}
