/// A 16-byte W3C trace id, kept as two words so it is cheap to copy, hash and compare.
public struct TraceID: Sendable, Hashable {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A random id; all zeros is invalid in Trace Context, so it is never returned.
    public static func random() -> TraceID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let id = TraceID(high: generator.next(), low: generator.next())
            if id.isValid { return id }
        }
    }

    public var isValid: Bool { high != 0 || low != 0 }

    /// The 16 bytes, big-endian, as OTLP wants them.
    public var bytes: [UInt8] { bigEndianBytes(high) + bigEndianBytes(low) }

    /// 32 lowercase hex digits.
    public var hex: String { hexString(high) + hexString(low) }

    /// Parses 32 lowercase hex digits; nil for anything else.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 32, let high = parseHexWord(utf8[0..<16]), let low = parseHexWord(utf8[16..<32]) else { return nil }
        self.init(high: high, low: low)
    }
}

/// An 8-byte W3C span id.
public struct SpanID: Sendable, Hashable {
    public let value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// A random id, never all zeros.
    public static func random() -> SpanID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let value: UInt64 = generator.next()
            if value != 0 { return SpanID(value) }
        }
    }

    public var isValid: Bool { value != 0 }
    public var bytes: [UInt8] { bigEndianBytes(value) }
    /// 16 lowercase hex digits.
    public var hex: String { hexString(value) }

    /// Parses 16 lowercase hex digits; nil for anything else.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 16, let value = parseHexWord(utf8[...]) else { return nil }
        self.init(value)
    }
}

func bigEndianBytes(_ word: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64($0))) }
}

private let hexDigits = Array("0123456789abcdef".utf8)

func hexString(_ word: UInt64) -> String {
    var out = [UInt8](repeating: 0, count: 16)
    for index in 0..<16 {
        out[index] = hexDigits[Int((word >> (60 - 4 * UInt64(index))) & 0xF)]
    }
    return String(decoding: out, as: UTF8.self)
}

/// Lowercase only: Trace Context forbids uppercase hex in `traceparent`.
func parseHexWord(_ digits: ArraySlice<UInt8>) -> UInt64? {
    var value: UInt64 = 0
    for digit in digits {
        let nibble: UInt8
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
        default: return nil
        }
        value = value << 4 | UInt64(nibble)
    }
    return value
}
