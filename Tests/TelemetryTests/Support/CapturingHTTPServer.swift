import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP/1.1 server on 127.0.0.1 that records every request and answers with the next
/// scripted status (200 once the script runs out): a stand-in OTLP collector.
final class CapturingHTTPServer: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// What the handlers and the test share.
    final class Recorder: Sendable {
        private struct State {
            var requests: [Request] = []
            var statuses: [HTTPResponseStatus]
        }
        private let state: Mutex<State>

        init(statuses: [HTTPResponseStatus]) { state = Mutex(State(statuses: statuses)) }

        func record(_ request: Request) -> HTTPResponseStatus {
            state.withLock { state in
                state.requests.append(request)
                return state.statuses.isEmpty ? .ok : state.statuses.removeFirst()
            }
        }

        var requests: [Request] { state.withLock { $0.requests } }
    }

    let recorder: Recorder
    private let channel: any Channel
    /// Kept from the start: a closed channel no longer knows its address.
    let port: Int
    var requests: [Request] { recorder.requests }

    private init(recorder: Recorder, channel: any Channel) {
        self.recorder = recorder
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    static func start(statuses: [HTTPResponseStatus] = []) async throws -> CapturingHTTPServer {
        let recorder = Recorder(statuses: statuses)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CaptureHandler(recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return CapturingHTTPServer(recorder: recorder, channel: channel)
    }

    func shutdown() async throws {
        try await channel.close()
    }
}

/// Collects one request at a time and answers it with an empty body.
private final class CaptureHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let recorder: CapturingHTTPServer.Recorder
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(recorder: CapturingHTTPServer.Recorder) { self.recorder = recorder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            let status = recorder.record(.init(method: head.method, uri: head.uri, headers: head.headers, body: body))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/x-protobuf")
            headers.add(name: "Content-Length", value: "0")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
