import Logging

/// Adds `trace.id` and `span.id` (ECS names) to every log line written inside a traced task,
/// so Kibana can jump from a log line to its trace in Jaeger and back.
public enum TraceLogMetadata {
    public static let provider = Logger.MetadataProvider {
        guard let traceparent = TraceHeaders.currentTraceparent() else { return [:] }
        return fields(of: traceparent)
    }

    /// `00-<trace id>-<span id>-<flags>` → the two ids; nothing for anything else.
    static func fields(of traceparent: String) -> Logger.Metadata {
        let parts = traceparent.split(separator: "-")
        guard parts.count == 4, parts[1].count == 32, parts[2].count == 16 else { return [:] }
        return ["trace.id": .string(String(parts[1])), "span.id": .string(String(parts[2]))]
    }
}
