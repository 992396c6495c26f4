import Instrumentation
import Tracing

/// A `Tracer` that propagates W3C Trace Context and queues ended, sampled spans for the OTLP
/// exporter. Tests build one directly; a process installs one with ``OTLPTracing/bootstrap(configuration:logger:)``.
public struct OTLPTracer: Tracer {
    public typealias Span = OTLPSpan

    public let sampler: Sampler
    /// Where ended sampled spans go; read it for the dropped count.
    public let queue: SpanQueue

    public init(sampler: Sampler, queue: SpanQueue) {
        self.sampler = sampler
        self.queue = queue
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> OTLPSpan {
        var spanServiceContext = context()
        let parent = spanServiceContext.spanContext
        let traceID = parent?.traceID ?? TraceID.random()
        let sampled = sampler.shouldSample(traceID: traceID, parent: parent)
        let spanContext = SpanContext(
            traceID: traceID,
            spanID: SpanID.random(),
            flags: ((parent?.flags ?? 0) & ~0x01) | (sampled ? 0x01 : 0x00),
            traceState: parent?.traceState ?? "",
            isRemote: false
        )
        spanServiceContext.spanContext = spanContext
        return OTLPSpan(
            name: operationName, context: spanServiceContext, spanContext: spanContext,
            parentSpanID: parent?.spanID, kind: kind,
            startNanoseconds: instant().nanosecondsSinceEpoch, queue: queue
        )
    }

    public func forceFlush() {}

    /// Reads `traceparent` (and `tracestate`); an invalid header is ignored, as the spec asks.
    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: TraceParent.headerName, from: carrier),
              let spanContext = TraceParent.parse(
                  header.trimmingASCIISpaces(), traceState: extractor.extract(key: TraceParent.stateHeaderName, from: carrier)
              )
        else { return }
        context.spanContext = spanContext
    }

    /// Writes `traceparent` (and a non-empty `tracestate`) of the context's current span.
    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let spanContext = context.spanContext else { return }
        injector.inject(TraceParent.format(spanContext), forKey: TraceParent.headerName, into: &carrier)
        if !spanContext.traceState.isEmpty {
            injector.inject(spanContext.traceState, forKey: TraceParent.stateHeaderName, into: &carrier)
        }
    }
}

extension String {
    /// Headers may arrive with optional whitespace around the value.
    func trimmingASCIISpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view = view.dropFirst() }
        while view.last == " " || view.last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
