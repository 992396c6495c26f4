import Synchronization
import Tracing

/// A span started by ``OTLPTracer``. A sampled span records under a lock until `end`, then hands
/// one ``SpanRecord`` to the queue; a span that is not sampled records nothing but still carries
/// its ids in ``context`` so they propagate.
public final class OTLPSpan: Span {
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var events: [SpanEvent] = []
        var links: [SpanRecord.Link] = []
        var status: SpanStatus?
        var ended = false
    }

    public let context: ServiceContext
    private let spanContext: SpanContext
    private let parentSpanID: SpanID?
    private let kind: SpanKind
    private let startNanoseconds: UInt64
    private let queue: SpanQueue?
    private let state: Mutex<State>

    init(
        name: String, context: ServiceContext, spanContext: SpanContext, parentSpanID: SpanID?,
        kind: SpanKind, startNanoseconds: UInt64, queue: SpanQueue?
    ) {
        self.context = context
        self.spanContext = spanContext
        self.parentSpanID = parentSpanID
        self.kind = kind
        self.startNanoseconds = startNanoseconds
        self.queue = spanContext.isSampled ? queue : nil
        self.state = Mutex(State(name: name))
    }

    public var isRecording: Bool {
        queue != nil && !state.withLock { $0.ended }
    }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { if !$0.ended { $0.name = newValue } } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set {
            guard queue != nil else { return }
            state.withLock { if !$0.ended { $0.attributes = newValue } }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        guard queue != nil else { return }
        state.withLock { state in
            // OK is final; an error may be overwritten only by OK or another error.
            guard !state.ended, state.status?.code != .ok else { return }
            state.status = status
        }
    }

    public func addEvent(_ event: SpanEvent) {
        guard queue != nil else { return }
        state.withLock { if !$0.ended { $0.events.append(event) } }
    }

    /// Recorded as the `exception` event the OpenTelemetry conventions name.
    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        guard queue != nil else { return }
        var eventAttributes = attributes
        eventAttributes["exception.type"] = String(describing: type(of: error))
        eventAttributes["exception.message"] = String(describing: error)
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: eventAttributes))
    }

    public func addLink(_ link: SpanLink) {
        guard queue != nil, let linked = link.context.spanContext else { return }
        state.withLock { if !$0.ended { $0.links.append(.init(context: linked, attributes: link.attributes)) } }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let queue else { return }
        let endNanoseconds = instant().nanosecondsSinceEpoch
        let record: SpanRecord? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return SpanRecord(
                context: spanContext, parentSpanID: parentSpanID, name: state.name, kind: kind,
                startNanoseconds: startNanoseconds, endNanoseconds: max(endNanoseconds, startNanoseconds),
                attributes: state.attributes, events: state.events, links: state.links, status: state.status
            )
        }
        if let record { queue.enqueue(record) }
    }
}
