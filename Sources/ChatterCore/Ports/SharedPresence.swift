/// Who is online in any real-time process, for presence across processes. Each process names
/// itself (`instance`) and keeps the users it holds sockets for marked, refreshing them well
/// within `ttl`; a process that dies stops refreshing and its marks lapse.
public protocol PresenceDirectory: Sendable {
    /// Marks `users` online on `instance` for `ttl` (again: extends it).
    func markOnline(_ users: Set<String>, instance: String, ttl: Duration) async throws
    func markOffline(_ userID: String, instance: String) async throws
    /// Which of `users` are online on an instance other than `instance`.
    func onlineElsewhere(among users: Set<String>, instance: String) async throws -> Set<String>
    /// Whether `userID` may broadcast typing in `chatID` now: true at most once per `interval`
    /// across all of the user's devices and processes.
    func claimTyping(userID: String, chatID: String, interval: Duration) async throws -> Bool
}

/// An ephemeral frame for some users' sockets wherever they are connected: typing and presence
/// go to every real-time process this way. Never stored; lost if no process is listening.
public struct Signal: Sendable, Hashable, Codable {
    /// The process that published it (which delivered it to its own sockets already).
    public var origin: String
    public var recipients: [String]
    /// The WebSocket text frame to send.
    public var frame: String

    public init(origin: String, recipients: [String], frame: String) {
        self.origin = origin
        self.recipients = recipients
        self.frame = frame
    }
}

public protocol SignalBus: Sendable {
    func publish(_ signal: Signal) async throws
    /// Signals published from now on, by every process (this one's included), until the
    /// calling task is cancelled.
    func signals() async throws -> AsyncStream<Signal>
}
