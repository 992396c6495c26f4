import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import Synchronization

/// The HTTP/1.1 client roles use to call each other's internal APIs, and the gateway to
/// forward requests. Small on purpose: whole bodies, keep-alive connections kept idle per
/// endpoint for the next call, a time budget per call, and errors that say whether the request
/// can have reached the server (what decides a retry).
public final class ServiceHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// How long to wait for a TCP connection. An instance on the same network answers in
        /// microseconds; one that does not within this is treated as down.
        public var connectTimeout: Duration = .seconds(1)
        /// The default budget of a whole call (connect, send, answer), when the caller gives none.
        public var requestTimeout: Duration = .seconds(10)
        /// Keep-alive connections kept per endpoint between calls; more are closed after use.
        public var maxIdleConnectionsPerEndpoint = 32
        /// Largest answer read; a bigger one fails the call.
        public var maxResponseBytes = 8 * 1024 * 1024

        public init() {}
    }

    private struct Pool: ~Copyable {
        var idle: [ServiceEndpoint: [any Channel]] = [:]
        var isShutDown = false
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let pool = Mutex(Pool())

    public init(configuration: Configuration = .init(), eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = eventLoopGroup
    }

    /// Sends `request` to `endpoint` and returns its answer, whatever its status.
    ///
    /// A kept-alive connection that the other side closed while it sat idle is only noticed when
    /// used; an idempotent request then goes again on a new connection. Anything else fails with
    /// ``ServiceClientError`` and `requestSent` saying whether a retry elsewhere is safe.
    public func execute(_ request: ServiceRequest, on endpoint: ServiceEndpoint, timeout: Duration? = nil) async throws -> ServiceResponse {
        let deadline = ContinuousClock.now + (timeout ?? configuration.requestTimeout)
        if let channel = takeIdle(endpoint) {
            do {
                return try await exchange(request, on: channel, endpoint: endpoint, deadline: deadline)
            } catch let error as ServiceClientError where error.code == .connectionClosed && (request.isIdempotent || !error.requestSent) {
                // The kept-alive connection was gone: a fresh one.
            }
        }
        let channel = try await connect(endpoint, deadline: deadline)
        return try await exchange(request, on: channel, endpoint: endpoint, deadline: deadline)
    }

    /// Closes the idle connections; calls after this fail with `shutDown`.
    public func shutdown() async {
        let channels = pool.withLock { pool in
            pool.isShutDown = true
            defer { pool.idle = [:] }
            return pool.idle.values.flatMap { $0 }
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    private func takeIdle(_ endpoint: ServiceEndpoint) -> (any Channel)? {
        pool.withLock { pool in
            while let channel = pool.idle[endpoint]?.popLast() {
                if channel.isActive { return channel }
            }
            return nil
        }
    }

    private func putBack(_ channel: any Channel, _ endpoint: ServiceEndpoint) {
        let kept = pool.withLock { pool in
            guard !pool.isShutDown, channel.isActive, pool.idle[endpoint, default: []].count < configuration.maxIdleConnectionsPerEndpoint
            else { return false }
            pool.idle[endpoint, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    private func connect(_ endpoint: ServiceEndpoint, deadline: ContinuousClock.Instant) async throws -> any Channel {
        if pool.withLock({ $0.isShutDown }) { throw ServiceClientError(.shutDown, "client shut down", requestSent: false) }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw ServiceClientError(.timeout, "no time left to connect to \(endpoint)", requestSent: false) }
        let maxResponseBytes = configuration.maxResponseBytes
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(min(configuration.connectTimeout, remaining)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPClientCodec())
                        try channel.pipeline.syncOperations.addHandler(ExchangeHandler(maxResponseBytes: maxResponseBytes))
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port)
                .get()
        } catch {
            throw ServiceClientError(.connectFailed, "\(endpoint): \(error)", requestSent: false)
        }
    }

    private func exchange(
        _ request: ServiceRequest, on channel: any Channel, endpoint: ServiceEndpoint, deadline: ContinuousClock.Instant
    ) async throws -> ServiceResponse {
        var fields = request.headerFields
        fields[.contentLength] = String(request.body?.readableBytes ?? 0)
        let head = HTTPRequest(method: request.method, scheme: "http", authority: endpoint.authority, path: request.path, headerFields: fields)
        let promise = channel.eventLoop.makePromise(of: (ServiceResponse, reusable: Bool).self)
        // Past the budget the connection is closed, which fails the exchange; the error is
        // then reported as the timeout it is.
        let remaining = deadline - ContinuousClock.now
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(max(remaining, .zero))) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            let (response, reusable) = try await withTaskCancellationHandler {
                // A write the channel refuses (it closed meanwhile) never reaches the handler,
                // which would otherwise be the one to complete `promise`: fail it here, or the
                // call would wait forever. A second completion is ignored by NIO.
                let written = channel.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenFailure { error in
                    let neverSent = (error as? ChannelError) == .ioOnClosedChannel
                    promise.fail(ServiceClientError(.connectionClosed, "\(endpoint): \(error)", requestSent: !neverSent))
                }
                channel.writeAndFlush(Exchange(head: head, body: request.body, promise: promise), promise: written)
                return try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            if reusable { putBack(channel, endpoint) } else { channel.close(promise: nil) }
            return response
        } catch var error as ServiceClientError {
            channel.close(promise: nil)
            if error.code == .connectionClosed, ContinuousClock.now >= deadline {
                error = ServiceClientError(.timeout, "no answer from \(endpoint) in time", requestSent: true)
            }
            throw error
        } catch {
            channel.close(promise: nil)
            throw ServiceClientError(.connectionClosed, "\(endpoint): \(error)", requestSent: true)
        }
    }
}
