import Foundation

extension TracingConfiguration {
    /// The configuration the standard `OTEL_*` variables in `environment` describe, or nil when
    /// tracing is off: no endpoint set, `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`.
    /// Throws ``TracingError`` (code ``TracingError/Code/invalidConfiguration``, naming the
    /// variable) for a value that cannot be used, so a typo fails the start instead of silently
    /// losing traces.
    public init?(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        if let disabled = value("OTEL_SDK_DISABLED"), disabled.lowercased() == "true" { return nil }
        if let exporter = value("OTEL_TRACES_EXPORTER") {
            switch exporter.lowercased() {
            case "none": return nil
            case "otlp": break
            default: throw TracingError.invalid("OTEL_TRACES_EXPORTER", exporter, expected: "otlp or none")
            }
        }
        let endpoint: Endpoint
        if let url = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpoint = try Endpoint(url: url, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        } else if let url = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            var base = try Endpoint(url: url, variable: "OTEL_EXPORTER_OTLP_ENDPOINT")
            base.path = (base.path.hasSuffix("/") ? String(base.path.dropLast()) : base.path) + "/v1/traces"
            endpoint = base
        } else {
            return nil
        }
        self.init(endpoint: endpoint)

        if let name = value("OTEL_SERVICE_NAME") { serviceName = name }
        if let raw = value("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, attribute) in try Self.keyValueList(raw, variable: "OTEL_RESOURCE_ATTRIBUTES") {
                resourceAttributes[key] = attribute
            }
            if value("OTEL_SERVICE_NAME") == nil, let name = resourceAttributes["service.name"] { serviceName = name }
            resourceAttributes["service.name"] = nil
        }
        var headerMap: [String: String] = [:]
        var order: [String] = []
        for variable in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            guard let raw = value(variable) else { continue }
            for (key, header) in try Self.keyValueList(raw, variable: variable) {
                let lowered = key.lowercased()
                if headerMap[lowered] == nil { order.append(key) }
                headerMap[lowered] = header
            }
        }
        headers = order.map { ($0, headerMap[$0.lowercased()]!) }

        for variable in ["OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"] {
            if let path = value(variable) { certificateFile = path }
        }
        for variable in ["OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] {
            if let raw = value(variable) { exportTimeout = .milliseconds(try Self.integer(raw, variable: variable, minimum: 1)) }
        }
        if let raw = value("OTEL_BSP_SCHEDULE_DELAY") {
            scheduleDelay = .milliseconds(try Self.integer(raw, variable: "OTEL_BSP_SCHEDULE_DELAY", minimum: 1))
        }
        if let raw = value("OTEL_BSP_MAX_QUEUE_SIZE") {
            maxQueueSize = try Self.integer(raw, variable: "OTEL_BSP_MAX_QUEUE_SIZE", minimum: 1)
        }
        if let raw = value("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            maxExportBatchSize = try Self.integer(raw, variable: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", minimum: 1)
        }
        maxExportBatchSize = min(maxExportBatchSize, maxQueueSize)
        sampler = try Self.sampler(name: value("OTEL_TRACES_SAMPLER"), argument: value("OTEL_TRACES_SAMPLER_ARG"))
    }

    static func sampler(name: String?, argument: String?) throws -> Sampler {
        func ratio() throws -> Double {
            guard let argument else { return 1.0 }
            guard let ratio = Double(argument), ratio >= 0, ratio <= 1 else {
                throw TracingError.invalid("OTEL_TRACES_SAMPLER_ARG", argument, expected: "a number from 0 to 1")
            }
            return ratio
        }
        switch name?.lowercased() {
        case nil, "parentbased_always_on": return .parentBasedAlwaysOn
        case "always_on": return .alwaysOn
        case "always_off": return .alwaysOff
        case "traceidratio": return .traceIDRatio(try ratio())
        case "parentbased_always_off": return .parentBasedAlwaysOff
        case "parentbased_traceidratio": return .parentBasedTraceIDRatio(try ratio())
        case let other?:
            throw TracingError.invalid(
                "OTEL_TRACES_SAMPLER", other,
                expected: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"
            )
        }
    }

    private static func integer(_ raw: String, variable: String, minimum: Int) throws -> Int {
        guard let value = Int(raw), value >= minimum else {
            throw TracingError.invalid(variable, raw, expected: "an integer ≥ \(minimum)")
        }
        return value
    }

    /// `k=v,k=v` with percent-encoded keys and values (the W3C Baggage form the spec uses).
    static func keyValueList(_ raw: String, variable: String) throws -> [(String, String)] {
        var result: [(String, String)] = []
        for member in raw.split(separator: ",") {
            let trimmed = member.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "="),
                  let key = String(trimmed[..<equals]).trimmingCharacters(in: .whitespaces).removingPercentEncoding,
                  !key.isEmpty,
                  let value = String(trimmed[trimmed.index(after: equals)...]).trimmingCharacters(in: .whitespaces).removingPercentEncoding
            else {
                throw TracingError.invalid(variable, raw, expected: "a comma-separated list of key=value (percent-encoded)")
            }
            result.append((key, value))
        }
        return result
    }
}
