import NIOCore
import NIOWebSocket

/// Where a socket's complete client messages and lifecycle go.
protocol SocketInputSink: Sendable {
    func received(_ input: SocketSession.Input, on session: SocketSession)
    /// The HTTP server is shutting down and asks open connections to finish.
    func quiesce(_ session: SocketSession)
}

/// The WebSocket protocol of one upgraded socket, on its event loop: control frames are answered
/// here (ping → pong, the closing handshake), fragments are joined and checked (size, UTF-8),
/// and only complete client messages go on to the session's queue.
///
/// Sits after NIO's frame decoder and encoder and its protocol-error handler (which closes with
/// 1002 or 1009 on malformed or oversized frames).
final class WebSocketFrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let session: SocketSession
    private let sink: any SocketInputSink
    private let maxMessageBytes: Int
    /// A fragmented message being received, and whether it is text.
    private var message: ByteBuffer?
    private var messageIsText = false

    init(session: SocketSession, sink: any SocketInputSink, maxMessageBytes: Int) {
        self.session = session
        self.sink = sink
        self.maxMessageBytes = maxMessageBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        session.activity.touch()
        switch frame.opcode {
        case .ping:
            guard !session.isClosing else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            return
        case .connectionClose:
            closeReceived(context: context, frame: frame)
        case .text, .binary:
            guard message == nil else { return protocolError(context, "a new message started inside a fragmented one") }
            messageIsText = frame.opcode == .text
            append(context: context, frame)
        case .continuation:
            guard message != nil else { return protocolError(context, "continuation frame without a message") }
            append(context: context, frame)
        default:
            protocolError(context, "unknown opcode")
        }
    }

    private func append(context: ChannelHandlerContext, _ frame: WebSocketFrame) {
        guard !session.isClosing else {
            message = nil
            return
        }
        var data = frame.unmaskedData
        if message == nil {
            message = data
        } else {
            message!.writeBuffer(&data)
        }
        guard message!.readableBytes <= maxMessageBytes else {
            message = nil
            session.closeOnLoop(code: 1009, reason: "message too big")
            return
        }
        guard frame.fin, let complete = message else { return }
        message = nil
        guard messageIsText else { return sink.received(.binary, on: session) }
        guard let text = String(validating: complete.readableBytesView, as: UTF8.self) else {
            session.closeOnLoop(code: 1007, reason: "text frame is not UTF-8")
            return
        }
        sink.received(.text(text), on: session)
    }

    /// The client's close frame: the answer to ours (then the connection ends), or its own
    /// (answered with the same code, then the connection ends).
    private func closeReceived(context: ChannelHandlerContext, frame: WebSocketFrame) {
        guard session.markCloseSent() else {
            context.close(promise: nil)
            return
        }
        var payload = frame.unmaskedData
        var answer = context.channel.allocator.buffer(capacity: 2)
        if let code = payload.readInteger(as: UInt16.self) { answer.writeInteger(code) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: answer)))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    private func protocolError(_ context: ChannelHandlerContext, _ reason: String) {
        message = nil
        session.closeOnLoop(code: 1002, reason: reason)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.received(.ended, on: session)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            sink.quiesce(session)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Protocol errors are answered by NIO's error handler, which closes after its close frame.
        guard !(error is NIOWebSocketError) else { return }
        context.close(promise: nil)
    }
}
