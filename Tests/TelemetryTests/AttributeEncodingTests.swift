import Testing
import Tracing

@testable import Telemetry

@Suite struct AttributeEncodingTests {
    func decode(_ attribute: SpanAttribute) throws -> ProtobufReader.Message {
        var writer = ProtobufWriter()
        OTLPTraceEncoder.anyValue(&writer, attribute)
        return try ProtobufReader.parse(writer.bytes)
    }

    @Test func scalarsMapToTheirAnyValueMembers() throws {
        #expect(try decode(.string("hi")).string(1) == "hi")
        #expect(try decode(.string("")).first(1) == .bytes([]))  // the oneof member is present even when empty
        #expect(try decode(.bool(true)).first(2) == .varint(1))
        #expect(try decode(.bool(false)).first(2) == .varint(0))
        #expect(try decode(.int64(42)).first(3) == .varint(42))
        #expect(try decode(.int32(-1)).first(3) == .varint(UInt64.max))  // two's complement, as int64
        #expect(try decode(.double(1.5)).first(4) == .fixed64(1.5.bitPattern))
        #expect(try decode(.stringConvertible(7 as Int)).string(1) == "7")
    }

    @Test func arraysBecomeArrayValues() throws {
        let strings = try #require(try decode(.stringArray(["a", "b"])).message(5))
        #expect(strings.messages(1).compactMap { $0.string(1) } == ["a", "b"])
        let ints = try #require(try decode(.int64Array([1, 2])).message(5))
        #expect(ints.messages(1).compactMap { $0.first(3) } == [.varint(1), .varint(2)])
        let bools = try #require(try decode(.boolArray([true])).message(5))
        #expect(bools.messages(1).first?.first(2) == .varint(1))
        let doubles = try #require(try decode(.doubleArray([0.25])).message(5))
        #expect(doubles.messages(1).first?.first(4) == .fixed64(0.25.bitPattern))
    }

    @Test func varintsUseSevenBitGroups() {
        var writer = ProtobufWriter()
        writer.varint(300)
        #expect(writer.bytes == [0xAC, 0x02])
    }
}
