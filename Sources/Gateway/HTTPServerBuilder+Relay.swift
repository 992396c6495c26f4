import ChatterHTTP
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket

extension HTTPServerBuilder {
    /// The framework's HTTP/1 server whose WebSocket upgrades `webSocketRouter` decides (the
    /// gateway's relay to notification processes), with HTTP/1.0 connections kept or closed as
    /// RFC 9112 asks (`HTTP10AwareChannel`), as the all-roles server's own channel does.
    static func http1WebSocketRelay(
        webSocketRouter: Router<ChatterRequestContext>, configuration: HTTP1WebSocketUpgradeChannel.Configuration
    ) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            HTTP10AwareChannel(HTTP1WebSocketUpgradeChannel(
                responder: responder, webSocketResponder: webSocketResponder, configuration: configuration))
        }
    }
}
