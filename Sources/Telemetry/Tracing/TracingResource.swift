import Foundation

/// The resource every exported span belongs to: which service, which process.
public struct TracingResource: Sendable {
    /// In the order they are encoded; keys are unique.
    public var attributes: [(key: String, value: String)]

    public init(attributes: [(key: String, value: String)]) {
        self.attributes = attributes
    }

    /// `service.name`, `service.instance.id` (hostname:pid), `service.version` when known, the
    /// SDK attributes, then `OTEL_RESOURCE_ATTRIBUTES` (sorted; ones above win).
    public init(configuration: TracingConfiguration) {
        let process = ProcessInfo.processInfo
        var attributes: [(key: String, value: String)] = [
            ("service.name", configuration.serviceName),
            ("service.instance.id", "\(process.hostName):\(process.processIdentifier)"),
        ]
        if let version = configuration.serviceVersion { attributes.append(("service.version", version)) }
        attributes.append(("telemetry.sdk.name", "chatter"))
        attributes.append(("telemetry.sdk.language", "swift"))
        let taken = Set(attributes.map(\.key))
        for (key, value) in configuration.resourceAttributes.sorted(by: { $0.key < $1.key }) where !taken.contains(key) {
            attributes.append((key, value))
        }
        self.init(attributes: attributes)
    }
}

/// The instrumentation scope stamped on exported spans.
public struct InstrumentationScope: Sendable, Hashable {
    public var name: String
    public var version: String

    public init(name: String = "chatter", version: String = "") {
        self.name = name
        self.version = version
    }
}
