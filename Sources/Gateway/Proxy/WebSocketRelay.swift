import ChatterCore
import HTTPTypes
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import ServiceClient
import Synchronization

/// Relays `/v1/ws`: the gateway accepts the client's socket, opens one to a notification
/// instance (the next one up, others if it cannot be reached), and copies text and binary
/// messages both ways until either side closes. Two tasks per socket, one per direction.
///
/// Closing: when the instance closes, its code and reason (4001, 4008, 1001, 1013, …) are
/// sent to the client unchanged. When the client closes, the instance gets a normal close
/// (1000): the framework answers the client's close frame itself and does not tell us its
/// code. No instance reachable: 1013 "try again later". An instance that vanishes without a
/// close frame: 1001, so the client reconnects (to another instance).
/// A client that breaks the protocol (text that is not UTF-8, a malformed fragment sequence,
/// a message over the limit) gets the framework's close code for it (1007, 1002, 1009), as it
/// would from a notification instance directly: the relay rethrows the framework's error
/// instead of passing on the instance's answer to the normal close it was sent.
struct WebSocketRelay: Sendable {
    let balancer: UpstreamBalancer
    let attempts: Int
    let maxMessageBytes: Int
    let sockets = RelayedSockets()
    /// How long one side may take to finish its close once the other has closed.
    var closeGrace: Duration = .seconds(5)

    static let path = "/v1/ws"

    /// The WebSocket settings of a gateway that relays sockets: the notification role's frame
    /// limit and UTF-8 check, and a ping every `pingInterval`. A client that has not answered a
    /// ping by the next one is closed with 1001. The instance's own pings are answered by the
    /// relay's client, not by the user's, so without these a client gone without a FIN would keep
    /// its relay, the instance's socket and its presence alive.
    static func serverConfiguration(pingInterval: Duration) -> WebSocketServerConfiguration {
        WebSocketServerConfiguration(maxFrameSize: 64 * 1024, autoPing: .enabled(timePeriod: pingInterval), validateUTF8: true)
    }

    private enum Side {
        case upstream, client, grace
    }

    func relay(
        client inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, headers: HTTPFields, logger: Logger
    ) async throws {
        guard let id = sockets.add(outbound) else {
            try? await outbound.close(.goingAway, reason: "server going away")
            return
        }
        defer { sockets.remove(id) }
        let upstream = UpstreamSocket()
        let clientFailure = ClientFailure()
        await withTaskGroup(of: Side.self) { group in
            group.addTask {
                let close = await runUpstream(upstream, toClient: outbound, headers: headers, logger: logger)
                upstream.close()
                // After a client's protocol error the framework closes the client with its code.
                if !clientFailure.isSet { try? await outbound.close(close.code, reason: close.reason) }
                return .upstream
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: maxMessageBytes) {
                        // Nil once the upstream is gone: the client is being closed, drop the rest.
                        guard let writer = await upstream.writer() else { continue }
                        do { try await Self.write(message, to: writer) } catch { continue }
                    }
                } catch {
                    logger.debug("websocket relay: client side ended", metadata: [LoggingKeys.errorDetail: "\(error)"])
                    // Recorded before the instance is closed, so its answer is not passed on. A
                    // side cancelled after the grace broke nothing: there is nothing to rethrow.
                    if !Task.isCancelled { clientFailure.set(error) }
                }
                try? await upstream.close()?.close(.normalClosure, reason: nil)
                return .client
            }
            // One side is done and has closed the other; give that one a moment to answer.
            _ = await group.next()
            group.addTask {
                try? await Task.sleep(for: closeGrace)
                return .grace
            }
            _ = await group.next()
            group.cancelAll()
        }
        if let error = clientFailure.error { throw error }
    }

    /// Connects to an instance and copies its messages to the client until it closes. Returns
    /// the close to pass on.
    private func runUpstream(
        _ upstream: UpstreamSocket, toClient outbound: WebSocketOutboundWriter, headers: HTTPFields, logger: Logger
    ) async -> (code: WebSocketErrorCode, reason: String?) {
        var tried = Set<ServiceEndpoint>()
        let configuration = WebSocketClientConfiguration(maxFrameSize: maxMessageBytes, additionalHeaders: headers)
        while tried.count < attempts, let endpoint = balancer.next(for: .notification, excluding: tried) {
            tried.insert(endpoint)
            do {
                let closeFrame = try await WebSocketClient.connect(
                    url: "ws://\(endpoint.authority)\(Self.path)", configuration: configuration, logger: logger
                ) { inbound, writer, _ in
                    guard upstream.opened(writer) else { return }  // the client left meanwhile
                    for try await message in inbound.messages(maxSize: maxMessageBytes) {
                        do { try await Self.write(message, to: outbound) } catch { return }
                    }
                }
                guard let closeFrame else { return (.goingAway, "upstream went away") }
                return (closeFrame.closeCode, closeFrame.reason)
            } catch {
                if upstream.wasOpened {
                    logger.warning("websocket relay: upstream connection lost", metadata: [
                        LoggingKeys.upstream: .stringConvertible(endpoint), LoggingKeys.errorDetail: "\(error)",
                    ])
                    return (.goingAway, "upstream went away")
                }
                logger.warning("websocket relay: cannot reach upstream", metadata: [
                    LoggingKeys.upstream: .stringConvertible(endpoint), LoggingKeys.errorDetail: "\(error)",
                ])
                // A refused upgrade is an answer; anything else means the instance is not there.
                if (error as? WebSocketClientError) != .webSocketUpgradeFailed {
                    balancer.report(endpoint, up: false)
                }
            }
        }
        return (.init(codeNumber: 1013), "try again later")
    }

    private static func write(_ message: WebSocketMessage, to writer: WebSocketOutboundWriter) async throws {
        switch message {
        case .text(let text): try await writer.writeTextMessage(text)
        case .binary(let bytes): try await writer.writeBinaryMessage(bytes)
        }
    }
}

/// The error that ended the client's side of a relayed socket, if any.
final class ClientFailure: Sendable {
    private let value = Mutex<(any Error)?>(nil)

    func set(_ error: any Error) { value.withLock { $0 = $0 ?? error } }
    var error: (any Error)? { value.withLock { $0 } }
    var isSet: Bool { error != nil }
}
