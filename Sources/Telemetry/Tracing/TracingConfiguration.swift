/// Where and how spans are exported. Read from the standard OpenTelemetry environment variables
/// (each property names its own) by ``init(environment:)``, which returns nil — tracing off —
/// unless an endpoint is set, so a process with no collector pays nothing.
public struct TracingConfiguration: Sendable {
    /// Where spans are POSTed. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/traces` appended). `http://` or `https://`.
    public var endpoint: Endpoint
    /// `service.name` of the resource. `OTEL_SERVICE_NAME`, default `chatter`.
    public var serviceName: String = "chatter"
    /// `service.version` of the resource, when the binary knows it (set by the caller).
    public var serviceVersion: String?
    /// More resource attributes, percent-decoded. `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k=v`);
    /// `OTEL_SERVICE_NAME` wins over a `service.name` given here.
    public var resourceAttributes: [String: String] = [:]
    /// Extra request headers (an API key, say), percent-decoded. `OTEL_EXPORTER_OTLP_HEADERS`,
    /// overridden key by key by `OTEL_EXPORTER_OTLP_TRACES_HEADERS`.
    public var headers: [(name: String, value: String)] = []
    /// A PEM file of CA certificates to trust for an `https://` endpoint instead of the system's.
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE` or `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`.
    public var certificateFile: String?
    /// How long one export request may take, connect to answer. `OTEL_EXPORTER_OTLP_TIMEOUT` or
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (ms), default 10000.
    public var exportTimeout: Duration = .seconds(10)
    /// Which spans are recorded. `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG` for the
    /// ratio samplers, default 1.0), default `parentbased_always_on`.
    public var sampler: Sampler = .parentBasedAlwaysOn
    /// How often queued spans are sent. `OTEL_BSP_SCHEDULE_DELAY` (ms), default 1000.
    public var scheduleDelay: Duration = .seconds(1)
    /// Ended spans that may wait for export; more are dropped and counted, so a slow or absent
    /// collector never costs unbounded memory. `OTEL_BSP_MAX_QUEUE_SIZE`, default 2048.
    public var maxQueueSize: Int = 2048
    /// Spans in one request; a full batch is sent without waiting for the schedule delay.
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512 (at most the queue size).
    public var maxExportBatchSize: Int = 512
    /// Attempts per batch on 429/502/503/504 or a connection error before it is dropped.
    public var maxAttempts: Int = 4
    /// The first retry's delay; it doubles on each further attempt (with jitter).
    public var initialRetryDelay: Duration = .milliseconds(200)
    /// How long a graceful shutdown may spend sending what is still queued.
    public var shutdownTimeout: Duration = .seconds(5)

    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// An `http(s)://host[:port]/path` URL split into what the client needs.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var path: String
        /// `https://`: the client speaks TLS (swift-nio-ssl) and checks the host name.
        public var usesTLS: Bool

        public init(host: String, port: Int, path: String, usesTLS: Bool = false) {
            self.host = host
            self.port = port
            self.path = path
            self.usesTLS = usesTLS
        }

        /// Parses `http(s)://host[:port][/path]` (IPv6 hosts in brackets); `variable` names the
        /// source in the error.
        public init(url: String, variable: String = "endpoint") throws {
            func invalid(_ why: String) -> TracingError { .invalid(variable, url, expected: why) }
            let lower = url.lowercased()
            let usesTLS = lower.hasPrefix("https://")
            guard usesTLS || lower.hasPrefix("http://") else { throw invalid("an http:// or https:// URL") }
            let rest = url.dropFirst(usesTLS ? "https://".count : "http://".count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            var path = String(rest.dropFirst(authority.count))
            if path.isEmpty || path.first != "/" { path = "/" + path }
            guard !authority.contains("@") else { throw invalid("a URL without user info") }
            var host: Substring
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw invalid("a closing ] after the IPv6 address") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.first == ":" else { throw invalid("host[:port]") }
                    portText = after.dropFirst()
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw invalid("a host") }
            var port = usesTLS ? 443 : 80
            if let portText {
                guard let value = Int(portText), (1...65535).contains(value) else { throw invalid("a port from 1 to 65535") }
                port = value
            }
            self.init(host: String(host), port: port, path: path, usesTLS: usesTLS)
        }

        /// The value of the `Host` header.
        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == (usesTLS ? 443 : 80) ? name : "\(name):\(port)"
        }

        public var description: String { "\(usesTLS ? "https" : "http")://\(hostHeader)\(path)" }
    }
}
