import Tracing

/// Spans around the event log, for records whose headers carry a trace context: untraced
/// records (background changes, tracing off) make no spans, so the relay and consumers never
/// start thousands of root traces of their own.
public enum EventSpans {
    /// One producer span per traced record, each a child of the context its headers carry.
    /// Returns the spans and the headers to publish, now naming the producer span as parent,
    /// so the consumers' spans hang below the publish, in whichever process they run.
    public static func startPublishing(
        system: String, topic: String, headers: [[String: String]]
    ) -> (spans: [any Span], headers: [[String: String]]) {
        var spans: [any Span] = []
        var rewritten = headers
        for (index, carried) in headers.enumerated() where carried["traceparent"] != nil {
            let span = InstrumentationSystem.tracer.startAnySpan(
                "\(topic) publish", context: TraceHeaders.extract(carried), ofKind: .producer)
            span.attributes["messaging.system"] = system
            span.attributes["messaging.destination.name"] = topic
            span.attributes["messaging.operation.type"] = "publish"
            rewritten[index].merge(TraceHeaders.inject(span.context)) { _, new in new }
            spans.append(span)
        }
        return (spans, rewritten)
    }

    /// Ends publish spans once the log acknowledged (or failed) the records.
    public static func endPublishing(_ spans: [any Span], error: (any Error)?) {
        for span in spans {
            if let error {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error))
            }
            span.end()
        }
    }

    /// A consumer span for one record, child of its producer; nil when the record is untraced.
    public static func startProcessing(system: String, topic: String, partition: Int, offset: Int64, headers: [String: String]) -> (any Span)? {
        guard headers["traceparent"] != nil else { return nil }
        let span = InstrumentationSystem.tracer.startAnySpan(
            "\(topic) process", context: TraceHeaders.extract(headers), ofKind: .consumer)
        span.attributes["messaging.system"] = system
        span.attributes["messaging.destination.name"] = topic
        span.attributes["messaging.operation.type"] = "process"
        span.attributes["messaging.destination.partition.id"] = String(partition)
        span.attributes["messaging.kafka.offset"] = Int(offset)
        return span
    }
}
