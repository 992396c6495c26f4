/// Writes compact JSON text straight into a byte buffer, for the few shapes on the hot path
/// (a message event per send, an ack per send) where `JSONEncoder`'s generic machinery cost
/// more than the rest of the fan-out. Everything else keeps using `JSONEncoder`.
///
/// The caller writes keys in the order it wants (sorted, to match `JSONEncoder`'s
/// `.sortedKeys` output); the writer adds commas and escapes strings as RFC 8259 requires.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// One flag per open object or array: does it need a comma before the next key or element?
    private var needsComma: [Bool] = []
    /// One flag per open container: is it an array (elements get commas without keys)?
    private var inArray: [Bool] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func beginObject() { open(UInt8(ascii: "{"), array: false) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "["), array: true) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8, array: Bool) {
        beforeValue()
        bytes.append(bracket)
        needsComma.append(false)
        inArray.append(array)
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma.removeLast()
        inArray.removeLast()
        markValueWritten()
    }

    public mutating func key(_ name: String) {
        if needsComma.last == true { bytes.append(UInt8(ascii: ",")) }
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        if !needsComma.isEmpty { needsComma[needsComma.count - 1] = false }
    }

    public mutating func string(_ value: String) {
        beforeValue()
        writeString(value)
        markValueWritten()
    }

    public mutating func int(_ value: Int64) {
        beforeValue()
        Self.appendInt(value, to: &bytes)
        markValueWritten()
    }

    /// Appends an integer's decimal digits without making a `String` of them.
    public static func appendInt(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written back to front
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        markValueWritten()
    }

    /// Inserts text that is already valid JSON (an encoded object).
    public mutating func raw(_ json: String) {
        beforeValue()
        bytes.append(contentsOf: json.utf8)
        markValueWritten()
    }

    /// Inserts bytes that are already valid JSON (a page of messages written by a store).
    public mutating func raw(bytes json: [UInt8]) {
        beforeValue()
        bytes.append(contentsOf: json)
        markValueWritten()
    }

    public mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    /// A timestamp as its RFC 3339 string, written without building the string.
    public mutating func field(_ name: String, _ value: Timestamp) {
        key(name)
        beforeValue()
        bytes.append(UInt8(ascii: "\""))
        value.appendRFC3339(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        markValueWritten()
    }

    public mutating func field(_ name: String, _ value: Int64) {
        key(name)
        int(value)
    }

    /// An array element after another needs a comma; in an object, `key` wrote it.
    private mutating func beforeValue() {
        if inArray.last == true, needsComma.last == true { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func markValueWritten() {
        if !needsComma.isEmpty { needsComma[needsComma.count - 1] = true }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ value: String) {
        // Scanned and copied as one buffer: `String.UTF8View` byte by byte through generic
        // `contains(where:)` was 4% of a history read.
        var value = value
        value.withUTF8 { Self.appendString(UnsafeRawBufferPointer($0), to: &bytes) }
    }

    /// Appends UTF-8 text as a quoted, escaped JSON string. Public so that a store can write a
    /// column's bytes without making a `String` of them first; `string(_:)` escapes the same way.
    public static func appendString(_ utf8: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (ids, times, ordinary text) need no escape: copy them whole.
        if utf8.contains(where: Self.needsEscape) {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
                case 0x00..<0x20:
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0x0F)]])
                default: bytes.append(byte)
                }
            }
        } else {
            bytes.append(contentsOf: utf8)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}

/// A value that writes its own JSON (the same as `JSONEncoder` with `.sortedKeys` gives), for
/// responses on the hot path.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension JSONWritable {
    public var writtenJSON: [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }
}

extension Message: JSONWritable {
    /// The same object `JSONEncoder` with `.sortedKeys` gives, written by hand.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let body { writer.field("body", body) }
        writer.field("chat_id", chatID)
        writer.field("client_msg_id", clientMsgID)
        writer.field("created_at", createdAt)
        writer.key("deleted")
        writer.bool(deleted)
        if let editedAt { writer.field("edited_at", editedAt) }
        writer.field("id", id)
        writer.field("sender_id", senderID)
        writer.field("seq", seq)
        writer.endObject()
    }
}
