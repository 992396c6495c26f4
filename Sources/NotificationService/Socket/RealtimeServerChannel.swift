import HTTPTypes
import HummingbirdCore
import ChatterCore
import ChatterHTTP
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// HTTP/1.1 for the router, with `/v1/ws` upgraded inside the NIO pipeline.
///
/// The framework's WebSocket support runs each socket in the connection's task for as long as
/// the socket is open, and a task keeps the allocator slabs its deepest call needed — about
/// 20 KiB per idle socket here. This channel hands an upgraded socket to the notification
/// role's channel handler and ends the connection's task at once: an idle socket is its NIO
/// channel and a few small objects. Plain HTTP requests are served as before.
public struct RealtimeServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade was asked for somewhere other than `/v1/ws`, or refused.
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        public let channel: any Channel
    }

    public let responder: HTTPChannelHandler.Responder
    let notifications: NotificationService

    static let path = "/v1/ws"

    public init(responder: @escaping HTTPChannelHandler.Responder, notifications: NotificationService) {
        self.responder = responder
        self.notifications = notifications
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let notifications = self.notifications
            let upgradeAsked = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: notifications.configuration.maxFrameBytes,
                enableAutomaticErrorHandling: true,
                shouldUpgrade: { channel, head in
                    upgradeAsked.value = true
                    let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                    return channel.eventLoop.makeSucceededFuture(path == Self.path ? HTTPHeaders() : nil)
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        try notifications.accept(channel: channel, authorization: head.headers.first(name: "authorization"))
                        return .webSocket
                    }
                })
            let configuration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP10Persistence())
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return upgradeAsked.value ? .refusedUpgrade(http) : .http(http)
                    }
                })
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: configuration)
            pipeline.enablePipelining = false  // requests are taken one at a time by the async channel
            pipeline.enableErrorHandling = false  // Hummingbird answers parse errors
            pipeline.enableResponseHeaderValidation = false  // HTTP types validated them
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket:
                return  // the socket lives on in its pipeline; this task ends here
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refusedUpgrade(let http):
                try await http.executeThenClose { _, outbound in
                    let headers: HTTPFields = [.connection: "close", .contentLength: "0"]
                    try await outbound.write(contentsOf: [.head(HTTPResponse(status: .badRequest, headerFields: headers)), .end(nil)])
                }
            }
        } catch {
            logger.debug("connection ended during the upgrade", metadata: [LoggingKeys.errorDetail: "\(error)"])
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the notification role's `/v1/ws` (see `RealtimeServerChannel`).
    public static func realtime(_ notifications: NotificationService) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in RealtimeServerChannel(responder: responder, notifications: notifications) }
    }
}
