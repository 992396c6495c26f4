/// The logger metadata keys this module writes, in one place.
enum TracingLoggingKeys {
    static let traceID = "trace.id"
    static let spanID = "span.id"
    static let endpoint = "otel.endpoint"
    static let spans = "otel.spans"
    static let attempt = "otel.attempt"
    static let retryDelay = "otel.retry.delay"
    static let dropped = "otel.spans.dropped"
    static let error = "otel.error"
}
