import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A deliberately small HTTP/1.1 client for one job: POST a body, read the status. Each request
/// gets its own connection (`Connection: close`): at one request per schedule delay the cost is
/// nothing, and there is no pooled state to go stale when the collector restarts.
struct OTLPHTTPClient: Sendable {
    let endpoint: TracingConfiguration.Endpoint
    let headers: [(name: String, value: String)]
    let timeout: Duration
    let group: any EventLoopGroup
    /// For an `https://` endpoint: the TLS context, or why none could be made (a bad CA file),
    /// reported on every export rather than crashing the process.
    let tls: Result<NIOSSLContext, TracingError>?

    init(
        endpoint: TracingConfiguration.Endpoint, headers: [(name: String, value: String)], timeout: Duration,
        certificateFile: String?, group: any EventLoopGroup
    ) {
        self.endpoint = endpoint
        self.headers = headers
        self.timeout = timeout
        self.group = group
        guard endpoint.usesTLS else {
            tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let certificateFile { configuration.trustRoots = .file(certificateFile) }
        do {
            tls = .success(try NIOSSLContext(configuration: configuration))
        } catch {
            tls = .failure(TracingError(.invalidConfiguration, "no TLS context for \(endpoint): \(error)", variable: "OTEL_EXPORTER_OTLP_CERTIFICATE"))
        }
    }

    /// Sends `body` and returns the response status. Throws ``TracingError`` with
    /// ``TracingError/Code/timeout`` past `timeout`, ``TracingError/Code/connectionClosed`` when
    /// the connection ends early, or the socket error when no connection could be made.
    func post(_ body: [UInt8], contentType: String) async throws -> HTTPResponseStatus {
        let timeout = timeout
        return try await withThrowingTaskGroup(of: HTTPResponseStatus?.self) { group in
            group.addTask { try await self.exchange(body, contentType: contentType) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let status = first else {
                throw TracingError(.timeout, "no answer from \(endpoint) within \(timeout)")
            }
            return status
        }
    }

    private func exchange(_ body: [UInt8], contentType: String) async throws -> HTTPResponseStatus {
        let connectTimeout = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        let sslContext = try tls?.get()
        let serverHostname = endpoint.host.contains(":") || endpoint.host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : endpoint.host
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        // SNI and host-name verification need a name; an IP literal gets neither.
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.path)
        head.headers.add(name: "Host", value: endpoint.hostHeader)
        head.headers.add(name: "Content-Type", value: contentType)
        head.headers.add(name: "Content-Length", value: String(body.count))
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "User-Agent", value: "chatter-otlp/1")
        for header in headers { head.headers.add(name: header.name, value: header.value) }
        let requestHead = head
        // Closing the channel is what unblocks a read when the surrounding timeout cancels us.
        let raw = channel.channel
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(.head(requestHead))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                try await outbound.write(.end(nil))
                var status: HTTPResponseStatus?
                for try await part in inbound {
                    switch part {
                    case .head(let responseHead):
                        // 1xx heads are interim; the final one follows.
                        if responseHead.status.code >= 200 { status = responseHead.status }
                    case .body:
                        continue
                    case .end:
                        if let status { return status }
                    }
                }
                throw TracingError(.connectionClosed, "\(endpoint) closed the connection before a complete answer")
            }
        } onCancel: {
            raw.close(promise: nil)
        }
    }
}
