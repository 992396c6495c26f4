import Instrumentation
import ServiceContextModule

/// The identity of one span as Trace Context carries it: what a child, a log line or an outgoing
/// `traceparent` needs to know about the span that is current.
public struct SpanContext: Sendable, Hashable {
    public var traceID: TraceID
    public var spanID: SpanID
    /// The `trace-flags` byte; bit 0 is "sampled".
    public var flags: UInt8
    /// The vendor `tracestate` header, passed on unchanged (empty when none came).
    public var traceState: String
    /// Whether the ids came from another process (extracted) rather than a span started here.
    public var isRemote: Bool

    public init(traceID: TraceID, spanID: SpanID, flags: UInt8, traceState: String = "", isRemote: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
        self.traceState = traceState
        self.isRemote = isRemote
    }

    public var isSampled: Bool { flags & 0x01 != 0 }
}

/// The `ServiceContext` key under which the current span's ``SpanContext`` travels.
public enum SpanContextKey: ServiceContextKey {
    public typealias Value = SpanContext
    public static var nameOverride: String? { "chatter.span-context" }
}

extension ServiceContext {
    /// The span that is current in this context (started here or extracted from a header).
    public var spanContext: SpanContext? {
        get { self[SpanContextKey.self] }
        set { self[SpanContextKey.self] = newValue }
    }

    /// The trace and span id of this context's span as hex, for log lines (`trace.id`, `span.id`).
    public var traceIDs: (traceID: String, spanID: String)? {
        spanContext.map { ($0.traceID.hex, $0.spanID.hex) }
    }

    /// The trace and span id of the task's current context, if a span is current.
    public static func currentTraceIDs() -> (traceID: String, spanID: String)? {
        ServiceContext.current?.traceIDs
    }
}
