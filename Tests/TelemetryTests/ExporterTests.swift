import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing
import Tracing

@testable import Telemetry

/// Records the batches it is given; can be told to fail.
final class RecordingExporter: SpanExporter {
    private let batches = Mutex<[[SpanRecord]]>([])
    var recorded: [[SpanRecord]] { batches.withLock { $0 } }

    func export(_ spans: [SpanRecord]) async throws {
        batches.withLock { $0.append(spans) }
    }
}

/// Never returns until cancelled: a collector that hangs.
struct HangingExporter: SpanExporter {
    func export(_ spans: [SpanRecord]) async throws {
        try await Task.sleep(for: .seconds(3600))
    }
}

/// Polls `condition` (bounded, so a broken exporter fails the test instead of hanging it).
func eventually(_ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Runs `service` in a `ServiceGroup`, calls `body`, then shuts the group down gracefully.
func withRunningService(_ service: any Service, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        try await body()
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

func record(_ name: String, parent: SpanID? = nil) -> SpanRecord {
    SpanRecord(
        context: SpanContext(traceID: .random(), spanID: .random(), flags: 1), parentSpanID: parent, name: name,
        kind: .internal, startNanoseconds: 1, endNanoseconds: 2
    )
}

@Suite struct ExporterTests {
    let logger = Logger(label: "test")

    func configuration(port: Int) -> TracingConfiguration {
        var configuration = TracingConfiguration(endpoint: .init(host: "127.0.0.1", port: port, path: "/v1/traces"))
        configuration.serviceName = "chatter-test"
        configuration.initialRetryDelay = .milliseconds(10)
        configuration.headers = [("api-key", "secret")]
        return configuration
    }

    @Test func postsProtobufThatDecodesToTheSpans() async throws {
        let server = try await CapturingHTTPServer.start()
        let exporter = OTLPHTTPExporter(configuration: configuration(port: server.port), logger: logger)
        let parent = SpanID.random()
        var span = record("send message", parent: parent)
        span.kind = .producer
        span.startNanoseconds = 1_700_000_000_000_000_000
        span.endNanoseconds = 1_700_000_000_000_000_500
        span.attributes["chat.id"] = "c1"
        span.attributes["messages"] = 2
        try await exporter.export([span])
        try await server.shutdown()

        let request = try #require(server.requests.first)
        #expect(server.requests.count == 1)
        #expect(request.method == .POST)
        #expect(request.uri == "/v1/traces")
        #expect(request.headers["Content-Type"] == ["application/x-protobuf"])
        #expect(request.headers["api-key"] == ["secret"])
        #expect(request.headers["Host"] == ["127.0.0.1:\(server.port)"])

        let body = try ProtobufReader.parse(request.body)
        let resourceSpans = try #require(body.message(1))
        let resource = try #require(resourceSpans.message(1)).keyValues(1)
        #expect(resource["service.name"]?.string(1) == "chatter-test")
        #expect(resource["telemetry.sdk.language"]?.string(1) == "swift")
        #expect(resource["service.instance.id"]?.string(1)?.contains(":") == true)
        let decoded = try #require(resourceSpans.message(2)?.messages(2).first)
        #expect(decoded.first(1)?.bytes == span.context.traceID.bytes)
        #expect(decoded.first(2)?.bytes == span.context.spanID.bytes)
        #expect(decoded.first(4)?.bytes == parent.bytes)
        #expect(decoded.string(5) == "send message")
        #expect(decoded.first(6) == .varint(4))
        #expect(decoded.first(7) == .fixed64(1_700_000_000_000_000_000))
        #expect(decoded.first(8) == .fixed64(1_700_000_000_000_000_500))
        let attributes = decoded.keyValues(9)
        #expect(attributes["chat.id"]?.string(1) == "c1")
        #expect(attributes["messages"]?.first(3) == .varint(2))
    }

    @Test func retriesTransientFailuresThenSucceeds() async throws {
        let server = try await CapturingHTTPServer.start(statuses: [.serviceUnavailable, .tooManyRequests])
        let exporter = OTLPHTTPExporter(configuration: configuration(port: server.port), logger: logger)
        try await exporter.export([record("a")])
        try await server.shutdown()
        #expect(server.requests.count == 3)
        #expect(server.requests.map(\.body).allSatisfy { $0 == server.requests[0].body })
    }

    @Test func givesUpOnPermanentFailuresAtOnce() async throws {
        let server = try await CapturingHTTPServer.start(statuses: [.badRequest])
        let exporter = OTLPHTTPExporter(configuration: configuration(port: server.port), logger: logger)
        await #expect(throws: TracingError.self) { try await exporter.export([record("a")]) }
        try await server.shutdown()
        #expect(server.requests.count == 1)
    }

    @Test func givesUpAfterTheLastAttempt() async throws {
        let server = try await CapturingHTTPServer.start(statuses: Array(repeating: .badGateway, count: 10))
        var configuration = configuration(port: server.port)
        configuration.maxAttempts = 3
        let exporter = OTLPHTTPExporter(configuration: configuration, logger: logger)
        do {
            try await exporter.export([record("a")])
            Issue.record("export succeeded")
        } catch let error as TracingError {
            #expect(error.httpStatus == 502)
        }
        try await server.shutdown()
        #expect(server.requests.count == 3)
    }

    @Test func connectionRefusedIsRetriedThenReported() async throws {
        // Bind and close a server to get a port nothing listens on.
        let server = try await CapturingHTTPServer.start()
        let port = server.port
        try await server.shutdown()
        var configuration = configuration(port: port)
        configuration.maxAttempts = 2
        let exporter = OTLPHTTPExporter(configuration: configuration, logger: logger)
        await #expect(throws: TracingError.self) { try await exporter.export([record("a")]) }
    }

    @Test func unusableTLSSettingsFailTheExportWithoutRetrying() async throws {
        var configuration = configuration(port: 4318)
        configuration.endpoint.usesTLS = true
        configuration.certificateFile = "/nonexistent/ca.pem"
        let exporter = OTLPHTTPExporter(configuration: configuration, logger: logger)
        do {
            try await exporter.export([record("a")])
            Issue.record("export succeeded")
        } catch let error as TracingError {
            #expect(error.code == .invalidConfiguration)
        }
    }

    @Test func aCollectorThatNeverAnswersTimesOut() async throws {
        // Accepts connections and reads nothing back: no HTTP handler at all.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        var configuration = configuration(port: silent.localAddress!.port!)
        configuration.exportTimeout = .milliseconds(200)
        configuration.maxAttempts = 1
        let exporter = OTLPHTTPExporter(configuration: configuration, logger: logger)
        do {
            try await exporter.export([record("a")])
            Issue.record("export succeeded")
        } catch let error as TracingError {
            #expect(error.code == .timeout)
        }
        try await silent.close()
    }

    @Test func shutdownGivesUpOnAHangingExportAtTheDeadline() async throws {
        let queue = SpanQueue(capacity: 100, batchSize: 50)
        let service = BatchSpanExportService(
            queue: queue, exporter: HangingExporter(), scheduleDelay: .seconds(3600),
            shutdownTimeout: .milliseconds(100), logger: logger
        )
        try await withRunningService(service) {
            for index in 0..<3 { queue.enqueue(record("s\(index)")) }
        }
        // The batch in flight at the deadline counts as failed; nothing is left queued.
        #expect(service.counts.exportedSpans == 0)
        #expect(service.counts.failedSpans + service.counts.abandonedSpans == 3)
        #expect(queue.count == 0)
    }

    @Test func batchesNeverExceedTheBatchSizeAndShutdownFlushesTheRest() async throws {
        let queue = SpanQueue(capacity: 100, batchSize: 3)
        let exporter = RecordingExporter()
        let service = BatchSpanExportService(queue: queue, exporter: exporter, scheduleDelay: .seconds(3600), logger: logger)
        try await withRunningService(service) {
            for index in 0..<7 { queue.enqueue(record("s\(index)")) }
            // Two full batches go out without waiting for the (hour-long) schedule delay.
            let sent = try await eventually { exporter.recorded.count >= 2 }
            #expect(sent)
        }
        #expect(exporter.recorded.allSatisfy { $0.count <= 3 })
        #expect(exporter.recorded.flatMap { $0 }.map(\.name) == (0..<7).map { "s\($0)" })
        #expect(service.counts.exportedSpans == 7)
        #expect(queue.isClosed)
    }

    @Test func gracefulShutdownFlushesWhatIsQueued() async throws {
        let queue = SpanQueue(capacity: 100, batchSize: 50)
        let exporter = RecordingExporter()
        let service = BatchSpanExportService(queue: queue, exporter: exporter, scheduleDelay: .seconds(3600), logger: logger)
        try await withRunningService(service) {
            for index in 0..<5 { queue.enqueue(record("s\(index)")) }
        }
        #expect(exporter.recorded.flatMap { $0 }.count == 5)
        queue.enqueue(record("late"))
        #expect(queue.droppedCount == 1)
    }

    @Test func scheduleDelaySendsPartialBatches() async throws {
        let queue = SpanQueue(capacity: 100, batchSize: 50)
        let exporter = RecordingExporter()
        let service = BatchSpanExportService(queue: queue, exporter: exporter, scheduleDelay: .milliseconds(20), logger: logger)
        try await withRunningService(service) {
            queue.enqueue(record("one"))
            let sent = try await eventually { exporter.recorded.count == 1 }
            #expect(sent)
        }
        #expect(exporter.recorded.first?.map(\.name) == ["one"])
    }

    @Test func endToEndThroughTheTracerAndTheHTTPExporter() async throws {
        let server = try await CapturingHTTPServer.start(statuses: [.serviceUnavailable])
        var configuration = configuration(port: server.port)
        configuration.scheduleDelay = .milliseconds(50)
        let (tracer, service) = OTLPTracing.make(configuration: configuration, logger: logger)
        try await withRunningService(service) {
            tracer.withSpan("parent", context: .topLevel) { span in
                tracer.startSpan("child", context: span.context, ofKind: .client).end()
            }
        }
        try await server.shutdown()
        let names = server.requests.flatMap { request -> [String] in
            guard let body = try? ProtobufReader.parse(request.body) else { return [] }
            return body.message(1)?.message(2)?.messages(2).compactMap { $0.string(5) } ?? []
        }
        #expect(Set(names) == ["parent", "child"])
        #expect(service.counts.exportedSpans == 2)
    }
}

/// Sends one known span to a real collector when `CHATTER_TEST_OTLP_ENDPOINT` names one (for
/// example `tests/observability/otlp_receiver.py`); skipped otherwise. A by-hand check that
/// what goes over the wire, not only the golden fixture, decodes with the official schema.
@Suite struct ExternalCollectorTests {
    static let endpoint = ProcessInfo.processInfo.environment["CHATTER_TEST_OTLP_ENDPOINT"]

    @Test(.enabled(if: endpoint != nil)) func exportsToTheCollectorNamedByTheEnvironment() async throws {
        var environment = [
            "OTEL_EXPORTER_OTLP_ENDPOINT": try #require(Self.endpoint),
            "OTEL_SERVICE_NAME": "chatter-telemetry-tests",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        ]
        // For an https:// collector with a test certificate.
        environment["OTEL_EXPORTER_OTLP_CERTIFICATE"] = ProcessInfo.processInfo.environment["OTEL_EXPORTER_OTLP_CERTIFICATE"]
        let configuration = try #require(try TracingConfiguration(environment: environment))
        let (tracer, service) = OTLPTracing.make(configuration: configuration, logger: Logger(label: "test"))
        let parent = try #require(serviceContext(fromTraceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        try await withRunningService(service) {
            let span = tracer.startSpan("external check", context: parent, ofKind: .consumer)
            span.attributes["chatter.check"] = "wire"
            span.attributes["chatter.count"] = 3
            span.attributes["chatter.values"] = [0.5, 1.5]
            span.end()
        }
        #expect(service.counts.exportedSpans == 1)
    }
}
