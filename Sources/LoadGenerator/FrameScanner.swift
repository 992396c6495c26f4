/// Pulls the few fields the load generator needs out of a server frame without a full
/// `JSONDecoder` pass, so one load-generator core can keep up with the deliveries it measures
/// (at 10 000 frames/s the decoder was most of its time, and its queueing showed up as
/// server latency).
///
/// It walks the JSON structure properly (strings with escapes, nesting, numbers, literals) and
/// keeps `type`, `event.kind`, and `seq` / `chat_id` / `client_msg_id` of `message` or
/// `event.message`. A captured string that contains an escape makes it give up (nil), and the
/// caller falls back to the decoder; ids never contain escapes. Keys are compared as bytes and
/// only wanted values become `String`s: a first version that built a string for every key and
/// value and an array for every path was a tenth of the generator's CPU.
struct FrameScanner {
    struct Fields: Equatable {
        var type: String?
        var kind: String?
        var seq: Int64?
        var chatID: String?
        var clientMsgID: String?
    }

    /// Where an object sits; only these hold wanted fields.
    private enum Context { case root, event, message, other }

    private enum Wanted { case type, kind, chatID, clientMsgID, seq }

    private let bytes: [UInt8]
    private var index = 0
    private var fields = Fields()
    private var failed = false

    static func scan(_ text: String) -> Fields? {
        var scanner = FrameScanner(bytes: Array(text.utf8))
        scanner.skipSpace()
        guard scanner.peek == UInt8(ascii: "{") else { return nil }
        scanner.object(.root)
        return scanner.failed ? nil : scanner.fields
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) {
        skipSpace()
        if peek == byte { index += 1 } else { failed = true }
    }

    private mutating func object(_ context: Context) {
        expect(UInt8(ascii: "{"))
        skipSpace()
        if peek == UInt8(ascii: "}") { index += 1; return }
        while !failed {
            guard let key = rawString() else { failed = true; return }
            expect(UInt8(ascii: ":"))
            value(in: context, key: key)
            skipSpace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            expect(UInt8(ascii: "}"))
            return
        }
    }

    private mutating func array() {
        expect(UInt8(ascii: "["))
        skipSpace()
        if peek == UInt8(ascii: "]") { index += 1; return }
        while !failed {
            value(in: .other, key: 0..<0)
            skipSpace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            expect(UInt8(ascii: "]"))
            return
        }
    }

    private mutating func value(in context: Context, key: Range<Int>) {
        skipSpace()
        guard let byte = peek else { failed = true; return }
        switch byte {
        case UInt8(ascii: "{"): object(child(of: context, key: key))
        case UInt8(ascii: "["): array()
        case UInt8(ascii: "\""):
            guard let raw = rawString() else { failed = true; return }
            guard let wanted = wanted(in: context, key: key), wanted != .seq else { return }
            // An escape inside a wanted value: let the decoder do it properly.
            if bytes[raw].contains(UInt8(ascii: "\\")) { failed = true; return }
            let text = String(decoding: bytes[raw], as: UTF8.self)
            switch wanted {
            case .type: fields.type = text
            case .kind: fields.kind = text
            case .chatID: fields.chatID = text
            case .clientMsgID: fields.clientMsgID = text
            case .seq: break
            }
        default:
            let start = index
            while let next = peek, next != UInt8(ascii: ","), next != UInt8(ascii: "}"), next != UInt8(ascii: "]"),
                  next != 0x20, next != 0x0A, next != 0x0D, next != 0x09 {
                index += 1
            }
            guard index > start else { failed = true; return }
            if wanted(in: context, key: key) == .seq {
                guard let seq = Self.integer(bytes[start..<index]) else { failed = true; return }
                fields.seq = seq
            }
        }
    }

    /// The byte range of a string token's raw content (escapes left as they are).
    private mutating func rawString() -> Range<Int>? {
        skipSpace()
        guard peek == UInt8(ascii: "\"") else { return nil }
        index += 1
        let start = index
        while let byte = peek {
            if byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return start..<index
            }
            index += 1
        }
        return nil
    }

    private func key(_ key: Range<Int>, is name: StaticString) -> Bool {
        name.withUTF8Buffer { bytes[key].elementsEqual($0) }
    }

    private func child(of context: Context, key: Range<Int>) -> Context {
        switch context {
        case .root where self.key(key, is: "event"): .event
        case .root where self.key(key, is: "message"), .event where self.key(key, is: "message"): .message
        default: .other
        }
    }

    private func wanted(in context: Context, key: Range<Int>) -> Wanted? {
        switch context {
        case .root: return self.key(key, is: "type") ? .type : nil
        case .event: return self.key(key, is: "kind") ? .kind : nil
        case .message:
            if self.key(key, is: "seq") { return .seq }
            if self.key(key, is: "chat_id") { return .chatID }
            if self.key(key, is: "client_msg_id") { return .clientMsgID }
            return nil
        case .other: return nil
        }
    }

    /// A JSON integer that fits in `Int64`; nil for anything else (a fraction, an exponent).
    private static func integer(_ digits: ArraySlice<UInt8>) -> Int64? {
        var rest = digits[...]
        let negative = rest.first == UInt8(ascii: "-")
        if negative { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in rest {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
