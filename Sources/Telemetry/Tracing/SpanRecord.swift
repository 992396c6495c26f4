import Tracing

/// An ended, sampled span as the exporter needs it: plain values, detached from the live span.
public struct SpanRecord: Sendable {
    public struct Link: Sendable {
        public var context: SpanContext
        public var attributes: SpanAttributes

        public init(context: SpanContext, attributes: SpanAttributes) {
            self.context = context
            self.attributes = attributes
        }
    }

    public var context: SpanContext
    public var parentSpanID: SpanID?
    public var name: String
    public var kind: SpanKind
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    public var attributes: SpanAttributes
    public var events: [SpanEvent]
    public var links: [Link]
    public var status: SpanStatus?

    public init(
        context: SpanContext, parentSpanID: SpanID?, name: String, kind: SpanKind,
        startNanoseconds: UInt64, endNanoseconds: UInt64, attributes: SpanAttributes = [:],
        events: [SpanEvent] = [], links: [Link] = [], status: SpanStatus? = nil
    ) {
        self.context = context
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
        self.attributes = attributes
        self.events = events
        self.links = links
        self.status = status
    }
}
