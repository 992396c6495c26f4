/// An error from the Redis client. Match on ``code``; ``message`` and ``debugDescription`` carry
/// the details (Redis' own error text for a ``Code/serverError``), `description` stays generic.
public struct RedisError: Error, Sendable {
    /// What went wrong. A struct with static members rather than an enum, so codes can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unavailable, timeout, connectionClosed, serverError, protocolError
            case unexpectedReply, invalidArgument, invalidConfiguration, shutDown
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No connection could be had: Redis is unreachable or refused the handshake (the client
        /// fails fast while it backs off before reconnecting), or every pooled connection stayed
        /// busy for the whole `connectionRequestTimeout`. The command was not sent.
        public static let unavailable = Code(.unavailable)
        /// No reply within `commandTimeout`. The command may or may not have run; its connection
        /// was closed, since replies on it can no longer be matched to commands.
        public static let timeout = Code(.timeout)
        /// The connection closed while the command was in flight. It may or may not have run;
        /// it is never retried.
        public static let connectionClosed = Code(.connectionClosed)
        /// Redis answered with an error reply (`WRONGTYPE …`, `NOSCRIPT …`); see ``RedisError/message``.
        public static let serverError = Code(.serverError)
        /// Redis sent bytes that are not valid RESP2, or broke a size limit; the connection was closed.
        public static let protocolError = Code(.protocolError)
        /// A valid reply of a type the typed call did not expect.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The caller passed an argument Redis cannot take (a zero expiry, say). Nothing was sent.
        public static let invalidArgument = Code(.invalidArgument)
        /// A configuration (or `redis://` URL) that cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The client has shut down (its `run()` returned), or was never running.
        public static let shutDown = Code(.shutDown)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// Redis' error text for ``Code/serverError``; otherwise a detail for logs.
    public let message: String
    /// The error underneath, for example the socket error behind ``Code/unavailable``.
    public let underlying: (any Error)?
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// The first word of a server error (`NOSCRIPT`, `WRONGTYPE`, `ERR`), Redis' own error kind.
    public var serverErrorPrefix: String? {
        guard code == .serverError else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }
}

extension RedisError: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "RedisError(\(code))" }

    public var debugDescription: String {
        var text = "RedisError(\(code)): \(message)"
        if let underlying { text += " (underlying: \(String(reflecting: underlying)))" }
        return text + " [\(file):\(line)]"
    }
}
