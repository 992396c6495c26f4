/// A test-only protobuf walker: splits a message into (field, value) pairs without a schema, so
/// tests can check what the encoder wrote independently of it.
struct ProtobufReader {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes([UInt8])

        var bytes: [UInt8]? { if case .bytes(let b) = self { return b } else { return nil } }
        var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
        var varint: UInt64? { if case .varint(let v) = self { return v } else { return nil } }
        var fixed64: UInt64? { if case .fixed64(let v) = self { return v } else { return nil } }
        var fixed32: UInt32? { if case .fixed32(let v) = self { return v } else { return nil } }
        var message: Message? { bytes.flatMap { try? ProtobufReader.parse($0) } }
    }

    struct Message {
        var fields: [(number: UInt64, value: Value)]

        func all(_ number: UInt64) -> [Value] { fields.filter { $0.number == number }.map(\.value) }
        func first(_ number: UInt64) -> Value? { all(number).first }
        func messages(_ number: UInt64) -> [Message] { all(number).compactMap(\.message) }
        func message(_ number: UInt64) -> Message? { first(number)?.message }
        func string(_ number: UInt64) -> String? { first(number)?.string }
    }

    struct Malformed: Error {}

    static func parse(_ bytes: [UInt8]) throws -> Message {
        var index = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func little(_ count: Int) throws -> UInt64 {
            guard index + count <= bytes.count else { throw Malformed() }
            var value: UInt64 = 0
            for offset in 0..<count { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
            index += count
            return value
        }
        var fields: [(UInt64, Value)] = []
        while index < bytes.count {
            let key = try varint()
            let number = key >> 3
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1: fields.append((number, .fixed64(try little(8))))
            case 5: fields.append((number, .fixed32(UInt32(try little(4)))))
            case 2:
                let length = Int(try varint())
                guard length >= 0, index + length <= bytes.count else { throw Malformed() }
                fields.append((number, .bytes(Array(bytes[index..<index + length]))))
                index += length
            default: throw Malformed()
            }
        }
        return Message(fields: fields)
    }
}

extension ProtobufReader.Message {
    /// KeyValue list (field `number`) as key → AnyValue message.
    func keyValues(_ number: UInt64) -> [String: ProtobufReader.Message] {
        var result: [String: ProtobufReader.Message] = [:]
        for keyValue in messages(number) {
            if let key = keyValue.string(1), let value = keyValue.message(2) { result[key] = value }
        }
        return result
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func bytes(fromHex text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}
