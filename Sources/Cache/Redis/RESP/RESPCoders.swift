import NIOCore

/// Turns inbound bytes into ``RESPValue``s for the channel pipeline; malformed input surfaces
/// as a ``RedisError/Code/protocolError`` through `errorCaught`.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var parser: RESPParser

    init(limits: RESPLimits = RESPLimits()) {
        self.parser = RESPParser(limits: limits)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try parser.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Writes outbound ``RESPValue``s as RESP2 bytes.
struct RESPEncoder: MessageToByteEncoder {
    typealias OutboundIn = RESPValue

    func encode(data: RESPValue, out: inout ByteBuffer) throws {
        out.writeRESPValue(data)
    }
}

extension ByteBuffer {
    /// Appends `value` in RESP2 form. Simple strings and errors are written as given, so they
    /// must not hold CR or LF (the client only ever writes arrays of bulk strings).
    mutating func writeRESPValue(_ value: RESPValue) {
        switch value {
        case .simpleString(let text):
            writeLine(prefix: "+", text)
        case .error(let message):
            writeLine(prefix: "-", message)
        case .integer(let number):
            writeLine(prefix: ":", String(number))
        case .bulkString(nil):
            writeLine(prefix: "$", "-1")
        case .bulkString(var bytes?):
            writeLine(prefix: "$", String(bytes.readableBytes))
            writeBuffer(&bytes)
            writeStaticString("\r\n")
        case .array(nil):
            writeLine(prefix: "*", "-1")
        case .array(let elements?):
            writeLine(prefix: "*", String(elements.count))
            for element in elements { writeRESPValue(element) }
        }
    }

    private mutating func writeLine(prefix: StaticString, _ text: String) {
        writeStaticString(prefix)
        writeString(text)
        writeStaticString("\r\n")
    }
}
