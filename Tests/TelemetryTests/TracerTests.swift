import Instrumentation
import ServiceContextModule
import Testing
import Tracing

@testable import Telemetry

/// A `[String: String]` header carrier for extract/inject.
struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

@Suite struct TracerTests {
    func makeTracer(_ sampler: Sampler = .parentBasedAlwaysOn, capacity: Int = 16) -> OTLPTracer {
        OTLPTracer(sampler: sampler, queue: SpanQueue(capacity: capacity, batchSize: capacity))
    }

    @Test func rootSpanStartsATraceAndChildrenJoinIt() throws {
        let tracer = makeTracer()
        let root = tracer.startSpan("root", context: .topLevel)
        let child = tracer.startSpan("child", context: root.context, ofKind: .client)
        child.end()
        root.end()
        let rootIDs = try #require(root.context.spanContext)
        let childIDs = try #require(child.context.spanContext)
        #expect(childIDs.traceID == rootIDs.traceID)
        #expect(childIDs.spanID != rootIDs.spanID)
        let records = tracer.queue.takeAll()
        #expect(records.map(\.name) == ["child", "root"])
        #expect(records[0].parentSpanID == rootIDs.spanID)
        #expect(records[0].kind == .client)
        #expect(records[1].parentSpanID == nil)
        #expect(records[1].endNanoseconds >= records[1].startNanoseconds)
    }

    @Test func extractThenInjectContinuesTheRemoteTrace() throws {
        let tracer = makeTracer()
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": TraceParentTests.valid, "tracestate": "congo=t61rcWkgMzE"], into: &context, using: DictionaryExtractor()
        )
        let span = tracer.startSpan("handle", context: context, ofKind: .server)
        var outgoing: [String: String] = [:]
        tracer.inject(span.context, into: &outgoing, using: DictionaryInjector())
        let sent = try #require(outgoing["traceparent"])
        #expect(sent.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-"))
        #expect(sent.hasSuffix("-01"))
        #expect(sent != TraceParentTests.valid)
        #expect(outgoing["tracestate"] == "congo=t61rcWkgMzE")
        span.end()
        #expect(tracer.queue.takeAll().first?.parentSpanID?.hex == "b7ad6b7169203331")
    }

    @Test func invalidIncomingHeaderIsIgnored() {
        let tracer = makeTracer()
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": "00-xyz-abc-01"], into: &context, using: DictionaryExtractor())
        #expect(context.spanContext == nil)
        var outgoing: [String: String] = [:]
        tracer.inject(context, into: &outgoing, using: DictionaryInjector())
        #expect(outgoing.isEmpty)
    }

    @Test func unsampledSpanPropagatesItsIdsButIsNotExported() throws {
        let tracer = makeTracer(.parentBasedAlwaysOn)
        let parent = try #require(serviceContext(fromTraceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"))
        let span = tracer.startSpan("dropped", context: parent)
        #expect(!span.isRecording)
        let header = try #require(traceparent(of: span.context))
        #expect(header.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-"))
        #expect(header.hasSuffix("-00"))
        span.attributes["ignored"] = "yes"
        span.end()
        #expect(tracer.queue.count == 0)

        let off = makeTracer(.alwaysOff).startSpan("root", context: .topLevel)
        #expect(traceparent(of: off.context)?.hasSuffix("-00") == true)
    }

    @Test func spanRecordsAttributesEventsLinksStatusAndErrors() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let tracer = makeTracer()
        let other = tracer.startSpan("other", context: .topLevel)
        let span = tracer.startSpan("work", context: .topLevel)
        span.attributes["text"] = "value"
        span.attributes["count"] = 3
        span.updateAttributes { $0["ratio"] = 0.5 }
        span.addEvent("checkpoint")
        span.addLink(other)
        span.recordError(Boom())
        span.setStatus(SpanStatus(code: .error, message: "failed"))
        span.end()
        span.end()  // a second end is ignored
        other.end()
        let record = try #require(tracer.queue.takeAll().first { $0.name == "work" })
        #expect(record.attributes.get("text") == .string("value"))
        #expect(record.attributes.get("count") == .int64(3))
        #expect(record.events.map(\.name) == ["checkpoint", "exception"])
        #expect(record.events[1].attributes.get("exception.message") == .string("boom"))
        #expect(record.links.first?.context.spanID == other.context.spanContext?.spanID)
        #expect(record.status == SpanStatus(code: .error, message: "failed"))
    }

    @Test func fullQueueDropsAndCounts() {
        let tracer = makeTracer(capacity: 2)
        for index in 0..<5 { tracer.startSpan("s\(index)", context: .topLevel).end() }
        #expect(tracer.queue.count == 2)
        #expect(tracer.queue.droppedCount == 3)
    }
}
