/// Just enough of the protobuf wire format to write the OTLP trace messages: varints, fixed
/// 32/64-bit values and length-delimited fields. Fields are written in field-number order and
/// proto3 defaults (empty strings, zero numbers) are left out, as the official encoders do.
struct ProtobufWriter {
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ field: UInt64, _ wireType: WireType) {
        varint(field << 3 | wireType.rawValue)
    }

    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, .varint)
        varint(value)
    }

    /// Eight bytes, little-endian (after a tag the caller wrote).
    mutating func fixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func fixed64Field(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, .fixed64)
        fixed64(value)
    }

    mutating func fixed32Field(_ field: UInt64, _ value: UInt32) {
        guard value != 0 else { return }
        tag(field, .fixed32)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// `always` writes the field even when empty: a oneof member (AnyValue's string) must be
    /// present to say which member is set.
    mutating func bytesField(_ field: UInt64, _ value: [UInt8], always: Bool = false) {
        guard always || !value.isEmpty else { return }
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func stringField(_ field: UInt64, _ value: String, always: Bool = false) {
        bytesField(field, Array(value.utf8), always: always)
    }

    /// A nested message, written by `body` into its own buffer so its length can go first.
    mutating func messageField(_ field: UInt64, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        bytesField(field, nested.bytes, always: true)
    }
}
