/// Pulls the few fields the load generator needs out of a server frame without a full
/// `JSONDecoder` pass, so one load-generator core can keep up with the deliveries it measures
/// (at 10 000 frames/s the decoder was most of its time, and its queueing showed up as
/// server latency).
///
/// It walks the JSON structure properly (strings with escapes, nesting, numbers, literals) and
/// keeps `type`, `event.kind`, and `seq` / `chat_id` / `client_msg_id` of `message` or
/// `event.message`. A captured string that contains an escape makes it give up (nil), and the
/// caller falls back to the decoder; ids never contain escapes.
struct FrameScanner {
    struct Fields: Equatable {
        var type: String?
        var kind: String?
        var seq: Int64?
        var chatID: String?
        var clientMsgID: String?
    }

    private let bytes: [UInt8]
    private var index = 0
    private var fields = Fields()
    private var failed = false

    static func scan(_ text: String) -> Fields? {
        var scanner = FrameScanner(bytes: Array(text.utf8))
        scanner.skipSpace()
        guard scanner.peek == UInt8(ascii: "{") else { return nil }
        scanner.object(path: [])
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

    private mutating func object(path: [String]) {
        expect(UInt8(ascii: "{"))
        skipSpace()
        if peek == UInt8(ascii: "}") { index += 1; return }
        while !failed {
            guard let key = string() else { failed = true; return }
            expect(UInt8(ascii: ":"))
            value(path: path + [key])
            skipSpace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            expect(UInt8(ascii: "}"))
            return
        }
    }

    private mutating func array(path: [String]) {
        expect(UInt8(ascii: "["))
        skipSpace()
        if peek == UInt8(ascii: "]") { index += 1; return }
        while !failed {
            value(path: path + ["[]"])
            skipSpace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            expect(UInt8(ascii: "]"))
            return
        }
    }

    private mutating func value(path: [String]) {
        skipSpace()
        guard let byte = peek else { failed = true; return }
        switch byte {
        case UInt8(ascii: "{"): object(path: path)
        case UInt8(ascii: "["): array(path: path)
        case UInt8(ascii: "\""):
            let wanted = Self.wantedString(path)
            let start = index + 1
            guard let text = string() else { failed = true; return }
            if let wanted {
                // An escape inside a wanted value: let the decoder do it properly.
                if bytes[start..<index].contains(UInt8(ascii: "\\")) { failed = true; return }
                switch wanted {
                case .type: fields.type = text
                case .kind: fields.kind = text
                case .chatID: fields.chatID = text
                case .clientMsgID: fields.clientMsgID = text
                }
            }
        default:
            let start = index
            while let next = peek, next != UInt8(ascii: ","), next != UInt8(ascii: "}"), next != UInt8(ascii: "]"),
                  next != 0x20, next != 0x0A, next != 0x0D, next != 0x09 {
                index += 1
            }
            guard index > start else { failed = true; return }
            if Self.isMessageField(path, "seq") {
                guard let seq = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else { failed = true; return }
                fields.seq = seq
            }
        }
    }

    /// A string token; its raw content (escapes left as they are).
    private mutating func string() -> String? {
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
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return text
            }
            index += 1
        }
        return nil
    }

    private enum Wanted { case type, kind, chatID, clientMsgID }

    private static func wantedString(_ path: [String]) -> Wanted? {
        if path == ["type"] { return .type }
        if path == ["event", "kind"] { return .kind }
        if isMessageField(path, "chat_id") { return .chatID }
        if isMessageField(path, "client_msg_id") { return .clientMsgID }
        return nil
    }

    private static func isMessageField(_ path: [String], _ name: String) -> Bool {
        path == ["message", name] || path == ["event", "message", name]
    }
}
