import Prometheus
import Synchronization

extension ChatterMetrics {
    /// Exposes the span exporter's own health: spans exported, spans given up on after retries,
    /// and spans dropped because the queue was full or shutdown left no time. Without these, a
    /// collector outage looks like a quiet system in Jaeger.
    public func observe(_ exporter: BatchSpanExportService) {
        let exported = registry.makeCounter(descriptor: .chatter(
            "chatter_trace_spans_exported_total", help: "Spans the collector accepted."))
        let failed = registry.makeCounter(descriptor: .chatter(
            "chatter_trace_spans_failed_total", help: "Spans dropped after the collector refused them or could not be reached."))
        let dropped = registry.makeCounter(descriptor: .chatter(
            "chatter_trace_spans_dropped_total", help: "Spans dropped before export: queue full, or not sent by shutdown."))
        // The exporter keeps running totals; each scrape adds what is new since the last one.
        let reported = Mutex<(UInt64, UInt64, UInt64)>((0, 0, 0))
        addCollector {
            let counts = exporter.counts
            let now = (counts.exportedSpans, counts.failedSpans, counts.abandonedSpans + exporter.queue.droppedCount)
            let delta = reported.withLock { last -> (UInt64, UInt64, UInt64) in
                defer { last = now }
                return (now.0 &- last.0, now.1 &- last.1, now.2 &- last.2)
            }
            if delta.0 > 0 { exported.increment(by: Int64(delta.0)) }
            if delta.1 > 0 { failed.increment(by: Int64(delta.1)) }
            if delta.2 > 0 { dropped.increment(by: Int64(delta.2)) }
        }
    }
}
