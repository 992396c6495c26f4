import Foundation
import ChatterCore

extension GatewayProxy {
    /// Where the roles run and how the gateway treats them. Every field has a default and an
    /// environment variable, named in its doc comment.
    public struct Configuration: Sendable {
        /// The instances of each role, as comma-separated `http://host:port` lists:
        /// `CHATTER_UPSTREAM_AUTH` (default `http://127.0.0.1:8081`), `CHATTER_UPSTREAM_CHAT`
        /// (`http://127.0.0.1:8082`), `CHATTER_UPSTREAM_MESSAGING` (`http://127.0.0.1:8083`),
        /// `CHATTER_UPSTREAM_NOTIFICATION` (`http://127.0.0.1:8084`). One instance may serve
        /// several roles; it is then probed once.
        public var upstreams: [UpstreamRole: [UpstreamEndpoint]] = [
            .auth: [UpstreamEndpoint(host: "127.0.0.1", port: 8081)],
            .chat: [UpstreamEndpoint(host: "127.0.0.1", port: 8082)],
            .messaging: [UpstreamEndpoint(host: "127.0.0.1", port: 8083)],
            .notification: [UpstreamEndpoint(host: "127.0.0.1", port: 8084)],
        ]
        /// How long one attempt may take, from connecting to the last byte of the response.
        /// `CHATTER_UPSTREAM_TIMEOUT_MS`, default 10000.
        public var tryTimeout: Duration = .seconds(10)
        /// How often every instance's `GET /healthz` is probed. `CHATTER_UPSTREAM_HEALTH_INTERVAL_MS`, default 1000.
        public var healthCheckInterval: Duration = .seconds(1)
        /// How long a probe may take before the instance counts as down.
        /// `CHATTER_UPSTREAM_HEALTH_TIMEOUT_MS`, default 1000.
        public var healthCheckTimeout: Duration = .seconds(1)
        /// Further attempts on other instances after a failed one (see `RetryPolicy` for which
        /// failures qualify). `CHATTER_UPSTREAM_RETRIES`, default 2.
        public var retries: Int = 2
        /// Largest WebSocket message relayed in either direction, in bytes. Larger ones close the
        /// socket with 1009. `CHATTER_UPSTREAM_WS_MAX_MESSAGE_BYTES`, default 1 MiB.
        public var maxWebSocketMessageBytes: Int = 1 << 20

        public init() {}

        /// The defaults overridden by whichever variables are set in `environment`.
        public init(environment: [String: String]) throws {
            self.init()
            for role in UpstreamRole.all {
                let variable = Self.environmentVariable(of: role)
                guard let list = environment[variable], !list.isEmpty else { continue }
                var endpoints: [UpstreamEndpoint] = []
                for item in list.split(separator: ",") {
                    let url = item.trimmingCharacters(in: .whitespaces)
                    guard !url.isEmpty else { continue }
                    do {
                        endpoints.append(try UpstreamEndpoint(url: url))
                    } catch {
                        throw ConfigurationError(variable: variable, value: list, expected: "a comma-separated list of http://host:port")
                    }
                }
                guard !endpoints.isEmpty else {
                    throw ConfigurationError(variable: variable, value: list, expected: "at least one http://host:port")
                }
                upstreams[role] = endpoints
            }
            try Self.milliseconds(environment, "CHATTER_UPSTREAM_TIMEOUT_MS", &tryTimeout)
            try Self.milliseconds(environment, "CHATTER_UPSTREAM_HEALTH_INTERVAL_MS", &healthCheckInterval)
            try Self.milliseconds(environment, "CHATTER_UPSTREAM_HEALTH_TIMEOUT_MS", &healthCheckTimeout)
            try Self.integer(environment, "CHATTER_UPSTREAM_RETRIES", &retries, minimum: 0)
            try Self.integer(environment, "CHATTER_UPSTREAM_WS_MAX_MESSAGE_BYTES", &maxWebSocketMessageBytes, minimum: 1024)
        }

        /// `CHATTER_UPSTREAM_<ROLE>`.
        public static func environmentVariable(of role: UpstreamRole) -> String {
            "CHATTER_UPSTREAM_\(role.name.uppercased())"
        }

        private static func integer(_ environment: [String: String], _ name: String, _ target: inout Int, minimum: Int) throws {
            guard let raw = environment[name], !raw.isEmpty else { return }
            guard let value = Int(raw), value >= minimum else {
                throw ConfigurationError(variable: name, value: raw, expected: "an integer ≥ \(minimum)")
            }
            target = value
        }

        private static func milliseconds(_ environment: [String: String], _ name: String, _ target: inout Duration) throws {
            var value = -1
            try integer(environment, name, &value, minimum: 1)
            if value > 0 { target = .milliseconds(value) }
        }
    }
}
