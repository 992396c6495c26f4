import Instrumentation
import ServiceContextModule

/// W3C Trace Context (`traceparent: 00-<trace-id>-<span-id>-<flags>`), parsed strictly: version
/// `00` only, lowercase hex of the right lengths, ids not all zeros. Anything else is ignored as
/// the spec asks, so a malformed header starts a new trace instead of failing a request.
enum TraceParent {
    static let headerName = "traceparent"
    static let stateHeaderName = "tracestate"
    /// Longer `tracestate` values are dropped rather than passed on (the spec allows 32 members
    /// of at most 256 characters; 512 is what most SDKs keep).
    static let maxTraceStateLength = 512

    static func parse(_ header: String, traceState: String? = nil) -> SpanContext? {
        let bytes = Array(header.utf8)
        // 2 + 1 + 32 + 1 + 16 + 1 + 2
        guard bytes.count == 55,
              bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
              bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
              let high = parseHexWord(bytes[3..<19]), let low = parseHexWord(bytes[19..<35]),
              let span = parseHexWord(bytes[36..<52]), let flags = parseHexWord(bytes[53..<55])
        else { return nil }
        let traceID = TraceID(high: high, low: low)
        let spanID = SpanID(span)
        guard traceID.isValid, spanID.isValid else { return nil }
        var state = traceState ?? ""
        if state.utf8.count > maxTraceStateLength { state = "" }
        return SpanContext(traceID: traceID, spanID: spanID, flags: UInt8(flags), traceState: state, isRemote: true)
    }

    static func format(_ context: SpanContext) -> String {
        let flags = context.flags < 0x10 ? "0" + String(context.flags, radix: 16) : String(context.flags, radix: 16)
        return "00-\(context.traceID.hex)-\(context.spanID.hex)-\(flags)"
    }
}

/// The `traceparent` of the context's current span, to store beside work that another process
/// picks up later (an outbox row, a Kafka header); nil when no span is current.
public func traceparent(of context: ServiceContext) -> String? {
    context.spanContext.map(TraceParent.format)
}

/// A context whose current span is the (remote) one a stored `traceparent` names, so spans
/// started in it continue that trace; nil when the header is not valid Trace Context.
public func serviceContext(fromTraceparent header: String, tracestate: String? = nil) -> ServiceContext? {
    guard let spanContext = TraceParent.parse(header, traceState: tracestate) else { return nil }
    var context = ServiceContext.topLevel
    context.spanContext = spanContext
    return context
}
