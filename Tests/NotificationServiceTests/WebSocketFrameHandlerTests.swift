import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import NotificationService

/// Records what the frame handler hands on.
final class RecordingSink: SocketInputSink {
    private let recorded = Mutex<[String]>([])
    var inputs: [String] { recorded.withLock { $0 } }

    func received(_ input: SocketSession.Input, on session: SocketSession) {
        let text = switch input {
        case .authorization(let header): "authorization \(header)"
        case .text(let text): "text \(text)"
        case .binary: "binary"
        case .ended: "ended"
        }
        recorded.withLock { $0.append(text) }
    }

    func quiesce(_ session: SocketSession) {
        recorded.withLock { $0.append("quiesce") }
    }
}

/// The WebSocket protocol of an upgraded socket, driven frame by frame on an embedded channel.
@Suite struct WebSocketFrameHandlerTests {
    struct Socket {
        let channel = EmbeddedChannel()
        let sink = RecordingSink()
        let session: SocketSession

        init(maxMessageBytes: Int = 16) throws {
            session = SocketSession(channel: channel)
            try channel.pipeline.syncOperations.addHandler(
                WebSocketFrameHandler(session: session, sink: sink, maxMessageBytes: maxMessageBytes))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// A client frame, masked as clients must send them.
        func receive(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) throws {
            var data = channel.allocator.buffer(bytes: payload)
            let key: WebSocketMaskingKey = [1, 2, 3, 4]
            data.webSocketMask(key)
            try channel.writeInbound(WebSocketFrame(fin: fin, opcode: opcode, maskKey: key, data: data))
        }

        func receive(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) throws {
            try receive(opcode, Array(text.utf8), fin: fin)
        }

        /// Frames the server wrote, as (opcode, payload).
        func written() throws -> [(WebSocketOpcode, [UInt8])] {
            var frames: [(WebSocketOpcode, [UInt8])] = []
            while let frame = try channel.readOutbound(as: WebSocketFrame.self) {
                frames.append((frame.opcode, Array(frame.data.readableBytesView)))
            }
            return frames
        }

        func closeCode(_ payload: [UInt8]) -> Int? {
            payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil
        }
    }

    @Test func textMessagesAreJoinedFromFragmentsAndHandedOnWhole() throws {
        let socket = try Socket()
        try socket.receive(.text, "{\"type\":", fin: false)
        try socket.receive(.continuation, "\"ping\"}", fin: true)
        try socket.receive(.text, "second")
        try socket.receive(.binary, [0, 1])
        #expect(socket.sink.inputs == ["text {\"type\":\"ping\"}", "text second", "binary"])
        #expect(try socket.written().isEmpty)
    }

    @Test func pingsAreAnsweredWithTheirPayloadAndPongsAreActivity() throws {
        let socket = try Socket()
        try socket.receive(.ping, "abc")
        try socket.receive(.pong, "")
        let frames = try socket.written()
        #expect(frames.count == 1)
        #expect(frames.first?.0 == .pong)
        #expect(frames.first?.1 == Array("abc".utf8))
        #expect(socket.sink.inputs.isEmpty)
    }

    @Test func aClientCloseIsAnsweredWithItsCodeThenTheConnectionEnds() throws {
        let socket = try Socket()
        try socket.receive(.connectionClose, [0x03, 0xE8, 0x62, 0x79, 0x65])  // 1000 "bye"
        let frames = try socket.written()
        #expect(frames.map(\.0) == [.connectionClose])
        #expect(socket.closeCode(frames[0].1) == 1000)
        socket.channel.embeddedEventLoop.run()
        #expect(!socket.channel.isActive)
        #expect(socket.sink.inputs == ["ended"])
    }

    @Test func ourCloseThenTheClientsAnswerEndsTheConnectionAndLaterFramesAreIgnored() throws {
        let socket = try Socket()
        socket.session.closeOnLoop(code: 4001, reason: "authentication failed")
        let frames = try socket.written()
        #expect(frames.map(\.0) == [.connectionClose])
        #expect(socket.closeCode(frames[0].1) == 4001)
        #expect(String(decoding: frames[0].1.dropFirst(2), as: UTF8.self) == "authentication failed")
        // Only the first close goes out.
        socket.session.closeOnLoop(code: 1001, reason: "again")
        try socket.receive(.text, "late")
        try socket.receive(.ping, "")
        #expect(try socket.written().isEmpty)
        #expect(socket.sink.inputs.isEmpty)
        try socket.receive(.connectionClose, [0x0F, 0xA1])
        #expect(try socket.written().isEmpty)
        #expect(!socket.channel.isActive)
        #expect(socket.sink.inputs == ["ended"])
    }

    @Test func aClientThatNeverAnswersOurCloseIsDroppedAfterTheGrace() throws {
        let socket = try Socket()
        socket.session.closeOnLoop(code: 4008, reason: "too slow")
        _ = try socket.written()
        socket.channel.embeddedEventLoop.advanceTime(by: SocketSession.closeGrace - .milliseconds(1))
        #expect(socket.channel.isActive)
        socket.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!socket.channel.isActive)
    }

    @Test func oversizedInvalidAndMalformedMessagesCloseWithTheirCodes() throws {
        let big = try Socket(maxMessageBytes: 16)
        try big.receive(.text, String(repeating: "x", count: 10), fin: false)
        try big.receive(.continuation, String(repeating: "x", count: 10))
        #expect(big.closeCode(try big.written().first?.1 ?? []) == 1009)
        #expect(big.sink.inputs.isEmpty)

        let invalid = try Socket()
        try invalid.receive(.text, [0xC3, 0x28])
        #expect(invalid.closeCode(try invalid.written().first?.1 ?? []) == 1007)
        #expect(invalid.sink.inputs.isEmpty)

        let stray = try Socket()
        try stray.receive(.continuation, "no start")
        #expect(stray.closeCode(try stray.written().first?.1 ?? []) == 1002)

        let interleaved = try Socket()
        try interleaved.receive(.text, "part", fin: false)
        try interleaved.receive(.text, "another")
        #expect(interleaved.closeCode(try interleaved.written().first?.1 ?? []) == 1002)
        #expect(interleaved.sink.inputs.isEmpty)
    }

    @Test func serverShutdownAsksTheSinkToCloseTheSocket() throws {
        let socket = try Socket()
        socket.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(socket.sink.inputs == ["quiesce"])
    }
}

/// The per-socket queue between the event loop and the job that answers frames.
@Suite struct SocketSessionTests {
    @Test func inputsComeOutInOrderAndOneDrainRunsAtATime() throws {
        let session = SocketSession(channel: EmbeddedChannel())
        #expect(session.push(.text("a")))  // the first input starts a drain
        #expect(!session.push(.text("b")))  // one is running
        var popped: [String] = []
        while let input = session.pop() {
            if case .text(let text) = input { popped.append(text) }
        }
        #expect(popped == ["a", "b"])
        #expect(session.push(.ended))  // that drain ended: the next input starts another
    }

    @Test func aClientSendingFasterThanItsFramesAreAnsweredStopsBeingRead() throws {
        let session = SocketSession(channel: EmbeddedChannel())
        func autoRead() -> Bool { !session.isReadingPaused }
        for index in 0..<(SocketSession.pauseReadingAt - 1) { _ = session.push(.text("\(index)")) }
        #expect(autoRead())
        _ = session.push(.text("last"))
        #expect(!autoRead())
        var count = 0
        while session.pop() != nil {
            count += 1
            if count == SocketSession.pauseReadingAt - SocketSession.resumeReadingAt - 1 { #expect(!autoRead()) }
        }
        #expect(count == SocketSession.pauseReadingAt)
        #expect(autoRead())
    }
}
