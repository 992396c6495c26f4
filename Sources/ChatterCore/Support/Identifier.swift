/// Generates the opaque string ids used for users, chats, messages and sessions.
///
/// They are UUIDv7: the leading 48 bits are the creation time in milliseconds, so new rows land
/// at the end of B-tree indexes instead of at random pages, and ids sort roughly by age.
public enum Identifier {
    public static func make(at time: Timestamp = .now()) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        let millis = UInt64(max(0, time.millisecondsSinceEpoch))
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index)))
        }
        let randomHigh = generator.next() as UInt64
        let randomLow = generator.next() as UInt64
        for index in 6..<16 {
            let source = index < 14 ? randomHigh >> (8 * (index - 6)) : randomLow >> (8 * (index - 14))
            bytes[index] = UInt8(truncatingIfNeeded: source)
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x70  // version 7
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return hex(bytes, dashesAfter: [3, 5, 7, 9])
    }

    /// Lowercase hex of `bytes`, with a dash after each listed byte index.
    public static func hex(_ bytes: [UInt8], dashesAfter: Set<Int> = []) -> String {
        let alphabet = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2 + dashesAfter.count)
        for (index, byte) in bytes.enumerated() {
            out.append(alphabet[Int(byte >> 4)])
            out.append(alphabet[Int(byte & 0x0F)])
            if dashesAfter.contains(index) { out.append(UInt8(ascii: "-")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Random bytes from the system's cryptographically secure generator.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
