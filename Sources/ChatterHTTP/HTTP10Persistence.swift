import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Gives HTTP/1.0 clients the connection handling RFC 9112 §9.3 requires, which the framework
/// cannot: it sees requests as version-less `HTTPTypes` values and closes a connection only on
/// `Connection: close`, so an HTTP/1.0 client that waits for the close to end a response (`ab`,
/// simple probes) hung.
///
/// Sits between NIO's HTTP/1 codec and the conversion to `HTTPTypes`. A 1.0 request is passed on
/// marked `Connection: close`, so the server answers and closes; its response is an HTTP/1.0
/// response that says so, never chunked. HTTP/1.0's `keep-alive` extension is declined, as the
/// RFC allows: a 1.0 response without a length (a streamed body) ends where the connection does,
/// which a kept connection could not give it.
public final class HTTP10Persistence: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    /// One entry per request whose final response head has not been written yet: whether it
    /// was an HTTP/1.0 request.
    private var http10 = CircularBuffer<Bool>()
    /// A 101 went out: leave at the next flush.
    private var upgraded = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        guard head.version == .http1_0 else {
            http10.append(false)
            context.fireChannelRead(data)
            return
        }
        http10.append(true)
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if head.status == .switchingProtocols { upgraded = true }
        // Informational (1xx) heads come before the final one and leave the request's entry.
        guard head.status.code >= 200, http10.popFirst() == true else {
            context.write(data, promise: promise)
            return
        }
        head.version = .http1_0
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }

    /// After a `101 Switching Protocols` what follows is no longer HTTP, so the handler leaves
    /// (in a pipeline set up before the request says whether it upgrades: a split gateway's). It
    /// leaves after the flush: removed inside the write, it would drop the flush of the same
    /// `writeAndFlush`, and the client would never see the 101.
    public func flush(context: ChannelHandlerContext) {
        context.flush()
        if upgraded {
            upgraded = false
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// A framework HTTP/1 channel (`Inner`) with `HTTP10Persistence` in its pipeline, right after
/// NIO's request decoder: requests reach it decoded but before the upgrade handler decides, and
/// responses pass it before they reach the encoder, which NIO puts in front of the decoder.
public struct HTTP10AwareChannel<Inner: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Inner.Value

    let inner: Inner

    public init(_ inner: Inner) {
        self.inner = inner
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(HTTP10Persistence(), position: .after(decoder))
            return value
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
