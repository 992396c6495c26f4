import NIOCore

/// Reads RESP2 values off a byte stream that may arrive in pieces of any size.
///
/// Strict: a type byte it does not know, a bare LF, a bulk string without its closing CRLF, a
/// malformed or out-of-range length, or a broken ``RESPLimits`` bound throws a
/// ``RedisError/Code/protocolError``. Incremental: the finished elements of an unfinished array
/// are kept, so every byte is parsed once, however the stream is split.
struct RESPParser {
    private struct OpenArray {
        var remaining: Int
        var elements: [RESPValue]
    }

    private enum Item {
        case value(RESPValue)
        case arrayHeader(count: Int)
    }

    let limits: RESPLimits
    /// Arrays whose header has been read but not all their elements, innermost last.
    private var open: [OpenArray] = []

    init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// The next complete value, or `nil` when `buffer` ends inside one; then call again once
    /// more bytes have been appended. Consumes exactly the bytes of what it has parsed.
    mutating func next(from buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        while let item = try readItem(from: &buffer) {
            switch item {
            case .arrayHeader(let count):
                guard open.count < limits.maximumDepth else {
                    throw RedisError(.protocolError, "arrays nested deeper than \(limits.maximumDepth) levels")
                }
                if count == 0 {
                    if let complete = fold(.array([])) { return complete }
                } else {
                    open.append(OpenArray(remaining: count, elements: []))
                    open[open.count - 1].elements.reserveCapacity(min(count, 1024))
                }
            case .value(let value):
                if let complete = fold(value) { return complete }
            }
        }
        return nil
    }

    /// Adds a finished value to the arrays waiting for it; returns the outermost value once done.
    private mutating func fold(_ value: RESPValue) -> RESPValue? {
        var value = value
        while !open.isEmpty {
            let last = open.count - 1
            open[last].elements.append(value)
            open[last].remaining -= 1
            guard open[last].remaining == 0 else { return nil }
            value = .array(open.removeLast().elements)
        }
        return value
    }

    /// One scalar value or array header, consumed only when complete.
    private func readItem(from buffer: inout ByteBuffer) throws(RedisError) -> Item? {
        let start = buffer.readerIndex
        guard let (type, line) = try readLine(from: &buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .value(.simpleString(String(buffer: line)))
        case UInt8(ascii: "-"):
            return .value(.error(String(buffer: line)))
        case UInt8(ascii: ":"):
            return .value(.integer(try Self.parseInteger(line)))
        case UInt8(ascii: "$"):
            guard let length = try parseLength(line, maximum: limits.maximumBulkLength, what: "bulk string") else {
                return .value(.bulkString(nil))
            }
            guard buffer.readableBytes >= length + 2 else {
                buffer.moveReaderIndex(to: start)
                return nil
            }
            let payload = buffer.readSlice(length: length)!
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                throw RedisError(.protocolError, "bulk string of \(length) bytes not followed by CRLF")
            }
            return .value(.bulkString(payload))
        case UInt8(ascii: "*"):
            guard let count = try parseLength(line, maximum: limits.maximumArrayCount, what: "array") else {
                return .value(.array(nil))
            }
            return .arrayHeader(count: count)
        default:
            throw RedisError(.protocolError, "unknown RESP2 type byte 0x\(String(type, radix: 16))")
        }
    }

    /// The type byte and the line after it, up to (not including) CRLF; `nil` if the CRLF has
    /// not arrived yet. Consumes nothing when it returns `nil`.
    private func readLine(from buffer: inout ByteBuffer) throws(RedisError) -> (UInt8, ByteBuffer)? {
        let bytes = buffer.readableBytesView
        guard let type = bytes.first else { return nil }
        let body = bytes.dropFirst()
        guard let end = body.firstIndex(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) else {
            guard body.count <= limits.maximumLineLength else {
                throw RedisError(.protocolError, "line longer than \(limits.maximumLineLength) bytes")
            }
            return nil
        }
        guard body[end] == UInt8(ascii: "\r") else { throw RedisError(.protocolError, "bare LF in a line") }
        let length = end - body.startIndex
        guard length <= limits.maximumLineLength else {
            throw RedisError(.protocolError, "line longer than \(limits.maximumLineLength) bytes")
        }
        guard end + 1 < body.endIndex else { return nil }
        guard body[end + 1] == UInt8(ascii: "\n") else { throw RedisError(.protocolError, "CR not followed by LF") }
        buffer.moveReaderIndex(forwardBy: 1)
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        return (type, line)
    }

    /// A length header: `-1` (null) gives `nil`; anything else below zero or above `maximum` throws.
    private func parseLength(_ line: ByteBuffer, maximum: Int, what: String) throws(RedisError) -> Int? {
        let value = try Self.parseInteger(line)
        if value == -1 { return nil }
        guard value >= 0, value <= maximum else {
            throw RedisError(.protocolError, "\(what) length \(value) outside 0...\(maximum)")
        }
        return Int(value)
    }

    /// A decimal Int64: an optional `-` and at least one digit, nothing else.
    static func parseInteger(_ line: ByteBuffer) throws(RedisError) -> Int64 {
        let bytes = line.readableBytesView
        let negative = bytes.first == UInt8(ascii: "-")
        let digits = negative ? bytes.dropFirst() : bytes[...]
        guard !digits.isEmpty, digits.count <= 19 else { throw malformedInteger(line) }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw malformedInteger(line) }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw malformedInteger(line) }
            value = next
        }
        return value
    }

    private static func malformedInteger(_ line: ByteBuffer) -> RedisError {
        RedisError(.protocolError, "malformed integer \"\(String(buffer: line).prefix(32))\"")
    }
}
