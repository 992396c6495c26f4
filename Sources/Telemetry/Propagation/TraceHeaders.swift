import Instrumentation
import ServiceContextModule

/// Trace context in string maps (outbox rows, event-log record headers), through whatever
/// instrument the process bootstrapped: W3C `traceparent` with the OTLP tracer, nothing with
/// the default no-op one. Stores and the event log call this instead of knowing the tracer.
public enum TraceHeaders {
    /// The headers that continue `context`'s trace (empty when nothing traces).
    public static func inject(_ context: ServiceContext) -> [String: String] {
        var headers: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &headers, using: DictionaryInjector())
        return headers
    }

    /// The current task's `traceparent`, if a span is active and a tracer writes one.
    public static func currentTraceparent() -> String? {
        guard let context = ServiceContext.current else { return nil }
        return inject(context)["traceparent"]
    }

    /// A context whose span continues the trace `headers` carry (a top-level one if none).
    public static func extract(_ headers: [String: String]) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: DictionaryExtractor())
        return context
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
