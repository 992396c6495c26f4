import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Exports batches as OTLP/HTTP protobuf (`POST …/v1/traces`, `application/x-protobuf`).
/// Retries with exponential backoff on 429/502/503/504, timeouts and connection errors, the
/// answers the OTLP spec calls transient; any other failure loses the batch at once.
public struct OTLPHTTPExporter: SpanExporter {
    let client: OTLPHTTPClient
    let resource: TracingResource
    let scope: InstrumentationScope
    let maxAttempts: Int
    let initialRetryDelay: Duration
    let logger: Logger

    public init(
        configuration: TracingConfiguration,
        resource: TracingResource? = nil,
        scope: InstrumentationScope = InstrumentationScope(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.client = OTLPHTTPClient(
            endpoint: configuration.endpoint, headers: configuration.headers, timeout: configuration.exportTimeout,
            certificateFile: configuration.certificateFile, group: eventLoopGroup
        )
        self.resource = resource ?? TracingResource(configuration: configuration)
        self.scope = scope
        self.maxAttempts = max(1, configuration.maxAttempts)
        self.initialRetryDelay = configuration.initialRetryDelay
        var logger = logger
        logger[metadataKey: TracingLoggingKeys.endpoint] = "\(configuration.endpoint)"
        self.logger = logger
    }

    static let retryableStatuses: Set<UInt> = [429, 502, 503, 504]

    public func export(_ spans: [SpanRecord]) async throws {
        guard !spans.isEmpty else { return }
        let body = OTLPTraceEncoder.exportRequest(spans: spans, resource: resource, scope: scope)
        var delay = initialRetryDelay
        for attemptNumber in 1...maxAttempts {
            guard let failure = try await post(body) else { return }
            guard attemptNumber < maxAttempts else { throw failure }
            // Full jitter between half and all of the delay, so restarted processes spread out.
            let jittered = delay * Double.random(in: 0.5...1.0)
            logger.debug(
                "Span export failed; retrying",
                metadata: [
                    TracingLoggingKeys.attempt: "\(attemptNumber)",
                    TracingLoggingKeys.retryDelay: "\(jittered)",
                    TracingLoggingKeys.error: "\(failure.debugDescription)",
                ]
            )
            try await Task.sleep(for: jittered)
            delay *= 2
        }
    }

    /// One POST: nil when the collector took the batch, the error when it is worth retrying;
    /// throws when it is not (any other status) or the task was cancelled.
    private func post(_ body: [UInt8]) async throws -> TracingError? {
        let status: HTTPResponseStatus
        do {
            status = try await client.post(body, contentType: "application/x-protobuf")
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as TracingError where error.code == .invalidConfiguration {
            throw error
        } catch let error as TracingError {
            return error
        } catch {
            return TracingError(.connectionClosed, "\(error)")
        }
        if (200..<300).contains(status.code) { return nil }
        let failure = TracingError(.exportFailed, "collector answered \(status.code)", httpStatus: Int(status.code))
        guard Self.retryableStatuses.contains(status.code) else { throw failure }
        return failure
    }
}
