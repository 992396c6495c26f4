import NIOCore
import Testing

@testable import RedisClient

@Suite("RESP2 parser")
struct RESPParserTests {
    /// Parses every value in `text`, fed to the parser in one piece.
    private func parseAll(_ text: String, limits: RESPLimits = RESPLimits()) throws -> [RESPValue] {
        var parser = RESPParser(limits: limits)
        var buffer = ByteBuffer(string: text)
        var values: [RESPValue] = []
        while let value = try parser.next(from: &buffer) { values.append(value) }
        #expect(buffer.readableBytes == 0, "left unparsed: \(String(buffer: buffer))")
        return values
    }

    @Test func scalars() throws {
        let values = try parseAll("+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n")
        #expect(values == [
            .simpleString("OK"), .error("ERR bad thing"), .integer(42), .integer(-7),
            .bulkString("hello"), .bulkString(""), .bulkString(nil),
        ])
    }

    @Test func integerBounds() throws {
        #expect(try parseAll(":9223372036854775807\r\n:-9223372036854775808\r\n") == [.integer(.max), .integer(.min)])
        #expect(throws: RedisError.self) { try parseAll(":9223372036854775808\r\n") }
    }

    @Test func bulkStringsAreBinarySafe() throws {
        let values = try parseAll("$4\r\na\r\nb\r\n")
        #expect(values == [.bulkString("a\r\nb")])
    }

    @Test func arraysNestedAndNull() throws {
        let values = try parseAll("*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n*-1\r\n*-1\r\n")
        #expect(values == [
            .array([.integer(1), .array([.bulkString("a"), .array([])]), .array(nil)]),
            .array(nil),
        ])
    }

    @Test func errorsInsideArraysStayValues() throws {
        let values = try parseAll("*2\r\n+OK\r\n-WRONGTYPE nope\r\n")
        #expect(values == [.array([.simpleString("OK"), .error("WRONGTYPE nope")])])
    }

    /// Feeds the stream split at every byte position, and one byte at a time, and checks the
    /// parser yields exactly the values of the whole stream.
    @Test func everySplitOfTheStream() throws {
        let text = "*4\r\n$3\r\nfoo\r\n*2\r\n:-12\r\n$-1\r\n+OK\r\n*-1\r\n-ERR x\r\n$6\r\nab\r\ncd\r\n*1\r\n*1\r\n*0\r\n"
        let expected = try parseAll(text)
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            #expect(try feed([Array(bytes[..<split]), Array(bytes[split...])]) == expected, "split at \(split)")
        }
        #expect(try feed(bytes.map { [$0] }) == expected)
    }

    private func feed(_ pieces: [[UInt8]]) throws -> [RESPValue] {
        var parser = RESPParser()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for piece in pieces {
            buffer.writeBytes(piece)
            while let value = try parser.next(from: &buffer) { values.append(value) }
            buffer.discardReadBytes()
        }
        #expect(buffer.readableBytes == 0)
        return values
    }

    @Test func incompleteInputWaits() throws {
        var parser = RESPParser()
        for partial in ["", "$", "$5", "$5\r", "$5\r\nhel", "$5\r\nhello", "$5\r\nhello\r", "*2\r\n:1\r\n", ":12"] {
            var buffer = ByteBuffer(string: partial)
            #expect(try parser.next(from: &buffer) == nil, "\(partial.debugDescription)")
            parser = RESPParser()
        }
    }

    @Test(arguments: [
        "?what\r\n",          // unknown type byte
        "_\r\n",              // RESP3 null, not RESP2
        ":12a\r\n",           // not a number
        ":\r\n",              // empty number
        ":+5\r\n",            // explicit plus sign
        "+OK\n",              // bare LF
        "+OK\rX\n",           // CR without LF
        "$3\r\nabcd\r\n",     // bulk longer than announced
        "$3\r\nab\r\n\r\n",   // bulk shorter than announced
        "$-2\r\n",            // negative length other than -1
        "*-5\r\n",
        "$ 3\r\nabc\r\n",
    ])
    func malformedInputThrows(_ input: String) {
        #expect {
            _ = try parseAll(input)
        } throws: { error in
            (error as? RedisError)?.code == .protocolError
        }
    }

    @Test func sizeLimits() throws {
        var limits = RESPLimits()
        limits.maximumBulkLength = 4
        limits.maximumLineLength = 8
        limits.maximumDepth = 3
        #expect(throws: RedisError.self) { try parseAll("$5\r\nhello\r\n", limits: limits) }
        #expect(try parseAll("$4\r\nhell\r\n", limits: limits) == [.bulkString("hell")])
        #expect(throws: RedisError.self) { try parseAll("+123456789\r\n", limits: limits) }
        // A long line with no CRLF yet is refused before it arrives in full.
        #expect(throws: RedisError.self) { try parseAll("+123456789", limits: limits) }
        #expect(try parseAll("*1\r\n*1\r\n*0\r\n", limits: limits).count == 1)
        #expect(throws: RedisError.self) { try parseAll("*1\r\n*1\r\n*1\r\n*0\r\n", limits: limits) }
        // The default bound: 512 MiB bulk strings, no more.
        #expect(throws: RedisError.self) { try parseAll("$536870913\r\n") }
        #expect(throws: RedisError.self) { try parseAll("$99999999999999999999\r\n") }
    }

    @Test func encodingRoundTrips() throws {
        let value = RESPValue.array([
            .simpleString("OK"), .error("ERR x"), .integer(-3), .bulkString("a\r\nb"), .bulkString(nil),
            .array(nil), .array([]), .array([.bulkString(""), .integer(0)]),
        ])
        var buffer = ByteBuffer()
        buffer.writeRESPValue(value)
        #expect(try parseAll(String(buffer: buffer)) == [value])
        var command = ByteBuffer()
        command.writeRESPValue(.array([.bulkString("GET"), .bulkString("k")]))
        #expect(String(buffer: command) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    }
}
