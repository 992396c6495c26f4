import NIOCore

/// One value of the Redis serialisation protocol, version 2 (RESP2): what Redis replies, and
/// what a command is written as (an array of bulk strings).
///
/// RESP2 is a closed, finished format, so this is an enum: there is nothing to add to it.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short, CR/LF-free status text.
    case simpleString(String)
    /// `-ERR unknown command`: an error reply. Typed calls throw it as ``RedisError/Code/serverError``;
    /// it stays a value only when nested in an array (the replies of `EXEC`, say).
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello`: binary-safe bytes; `nil` is the null bulk string (`$-1`), Redis' "no such value".
    case bulkString(ByteBuffer?)
    /// `*2 …`: an array of values, which may nest; `nil` is the null array (`*-1`).
    case array([RESPValue]?)
}

extension RESPValue {
    /// A bulk string holding `text` as UTF-8: how commands and their arguments are sent.
    public static func bulkString(_ text: String) -> RESPValue {
        .bulkString(ByteBuffer(string: text))
    }

    /// The text of a simple or (non-null) bulk string, decoded as UTF-8; `nil` for any other value.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(buffer: bytes)
        default: nil
        }
    }

    /// The bytes of a non-null bulk string; `nil` for any other value.
    public var bytes: ByteBuffer? {
        if case .bulkString(let bytes?) = self { return bytes }
        return nil
    }

    /// The value of an integer reply; `nil` for any other value.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of a non-null array; `nil` for any other value.
    public var array: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// Whether this is the null bulk string or the null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let text): "+\(text)"
        case .error(let message): "-\(message)"
        case .integer(let value): ":\(value)"
        case .bulkString(nil): "(nil)"
        case .bulkString(let bytes?): "\"\(String(buffer: bytes))\""
        case .array(nil): "(nil array)"
        case .array(let elements?): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
