import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One request in flight on a connection, and where its answer goes.
struct Exchange: Sendable {
    var head: HTTPRequest
    var body: ByteBuffer?
    /// The answer, and whether the connection may carry another request.
    var promise: EventLoopPromise<(ServiceResponse, reusable: Bool)>
}

/// Runs one exchange at a time on a keep-alive HTTP/1.1 connection: writes the request
/// written to it, collects the answer whole (bounded) and completes the exchange's promise.
/// Everything happens on the channel's event loop.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPResponsePart
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPRequestPart

    private let maxResponseBytes: Int
    private var pending: EventLoopPromise<(ServiceResponse, reusable: Bool)>?
    private var head: HTTPResponse?
    private var body = ByteBuffer()
    private var closeAfter = false

    init(maxResponseBytes: Int) {
        self.maxResponseBytes = maxResponseBytes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard pending == nil else {
            exchange.promise.fail(ServiceClientError(.invalidResponse, "connection already busy", requestSent: false))
            promise?.fail(ServiceClientError(.invalidResponse, "connection already busy", requestSent: false))
            return
        }
        pending = exchange.promise
        head = nil
        body.clear()
        closeAfter = exchange.head.headerFields[.connection]?.lowercased().contains("close") ?? false
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let requestBody = exchange.body, requestBody.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(requestBody)), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let promise = pending else {
            // An answer nobody asked for: the connection is out of step, drop it.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let response):
            // 1xx answers are interim; the final one follows.
            guard response.status.kind != .informational else { return }
            head = response
            if response.headerFields[.connection]?.lowercased().contains("close") == true { closeAfter = true }
        case .body(var chunk):
            guard body.readableBytes + chunk.readableBytes <= maxResponseBytes else {
                pending = nil
                promise.fail(ServiceClientError(.responseTooLarge, "answer over \(maxResponseBytes) bytes", requestSent: true))
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            pending = nil
            guard let head else {
                promise.fail(ServiceClientError(.invalidResponse, "answer without a head", requestSent: true))
                context.close(promise: nil)
                return
            }
            promise.succeed((ServiceResponse(status: head.status, headerFields: head.headerFields, body: body), reusable: !closeAfter))
            self.head = nil
            body = ByteBuffer()
            if closeAfter { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failPending(ServiceClientError(.connectionClosed, "connection closed before a complete answer", requestSent: true))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failPending(ServiceClientError(.invalidResponse, "\(error)", requestSent: true))
        context.close(promise: nil)
    }

    private func failPending(_ error: ServiceClientError) {
        guard let promise = pending else { return }
        pending = nil
        promise.fail(error)
    }
}
