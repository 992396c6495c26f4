import Foundation
import Testing
import Tracing

@testable import Telemetry

/// Ties the encoder to the official schema: the bytes of a fixed span must equal the committed
/// fixture, which `tests/observability/test_otlp_wire.py` decodes with the official
/// opentelemetry-proto package. To regenerate after an intended change, run this test with
/// `CHATTER_OTLP_FIXTURE_OUT=Tests/TelemetryTests/Fixtures/otlp_golden_request.hex`.
@Suite struct GoldenEncodingTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/otlp_golden_request.hex")

    static func goldenRequest() -> [UInt8] {
        let start: UInt64 = 1_700_000_000_000_000_000
        let context = SpanContext(
            traceID: TraceID(high: 0x0102_0304_0506_0708, low: 0x090a_0b0c_0d0e_0f10),
            spanID: SpanID(0x1112_1314_1516_1718), flags: 1, traceState: "vendor=x"
        )
        var linked = ServiceContext.topLevel
        linked.spanContext = SpanContext(
            traceID: TraceID(high: 0xa1a2_a3a4_a5a6_a7a8, low: 0xa9aa_abac_adae_afb0), spanID: SpanID(0xb1b2_b3b4_b5b6_b7b8), flags: 1
        )
        let span = SpanRecord(
            context: context,
            parentSpanID: SpanID(0x2122_2324_2526_2728),
            name: "POST /v1/chats/{id}/messages",
            kind: .server,
            startNanoseconds: start,
            endNanoseconds: start + 1_500_000,
            attributes: [
                "http.request.method": "POST",
                "http.response.status_code": .int64(201),
                "chatter.ratio": .double(0.25),
                "chatter.retried": .bool(true),
                "chatter.tags": .stringArray(["a", "b"]),
                "chatter.ids": .int64Array([1, -2]),
            ],
            events: [SpanEvent(name: "exception", at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: start + 1000), attributes: ["exception.message": "boom"])],
            links: [.init(context: linked.spanContext!, attributes: ["link.kind": "follows"])],
            status: SpanStatus(code: .error, message: "boom")
        )
        let resource = TracingResource(attributes: [
            ("service.name", "chatter-golden"),
            ("service.instance.id", "host:1"),
            ("telemetry.sdk.name", "chatter"),
            ("telemetry.sdk.language", "swift"),
        ])
        return OTLPTraceEncoder.exportRequest(spans: [span], resource: resource, scope: InstrumentationScope(name: "chatter", version: "1.0.0"))
    }

    @Test func encodingMatchesTheGoldenFixture() throws {
        let encoded = Self.goldenRequest()
        if let out = ProcessInfo.processInfo.environment["CHATTER_OTLP_FIXTURE_OUT"], !out.isEmpty {
            try (hex(encoded) + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: Self.fixture, encoding: .utf8)
        #expect(hex(encoded) == golden.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func goldenRequestDecodesToTheSpan() throws {
        let request = try ProtobufReader.parse(Self.goldenRequest())
        let resourceSpans = try #require(request.message(1))
        let resource = try #require(resourceSpans.message(1)).keyValues(1)
        #expect(resource["service.name"]?.string(1) == "chatter-golden")
        let scopeSpans = try #require(resourceSpans.message(2))
        #expect(scopeSpans.message(1)?.string(1) == "chatter")
        #expect(scopeSpans.message(1)?.string(2) == "1.0.0")
        let span = try #require(scopeSpans.messages(2).first)
        #expect(span.first(1)?.bytes.map(hex) == "0102030405060708090a0b0c0d0e0f10")
        #expect(span.first(2)?.bytes.map(hex) == "1112131415161718")
        #expect(span.string(3) == "vendor=x")
        #expect(span.first(4)?.bytes.map(hex) == "2122232425262728")
        #expect(span.string(5) == "POST /v1/chats/{id}/messages")
        #expect(span.first(6) == .varint(2))
        #expect(span.first(7) == .fixed64(1_700_000_000_000_000_000))
        #expect(span.first(8) == .fixed64(1_700_000_000_001_500_000))
        let attributes = span.keyValues(9)
        #expect(attributes["http.request.method"]?.string(1) == "POST")
        #expect(attributes["http.response.status_code"]?.first(3) == .varint(201))
        #expect(span.messages(11).first?.string(2) == "exception")
        #expect(span.messages(13).first?.first(2)?.bytes.map(hex) == "b1b2b3b4b5b6b7b8")
        #expect(span.message(15)?.string(2) == "boom")
        #expect(span.message(15)?.first(3) == .varint(2))
        #expect(span.first(16) == .fixed32(1))
    }
}
