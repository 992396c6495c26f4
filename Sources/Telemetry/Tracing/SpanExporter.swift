/// Sends one batch of ended spans somewhere. The batch exporter service calls it one batch at a
/// time; tests substitute a recording one.
public protocol SpanExporter: Sendable {
    /// Sends `spans`, retrying as the implementation sees fit; throws when the batch is lost.
    func export(_ spans: [SpanRecord]) async throws
}
