import ChatterCore
import Foundation
import ServiceClient

extension GatewayProxy {
    /// Where the roles run and how the gateway treats them. Every field has a default and an
    /// environment variable, named in its doc comment.
    public struct Configuration: Sendable {
        /// The instances of each role. `CHATTER_UPSTREAM_AUTH`, `CHATTER_UPSTREAM_CHAT`,
        /// `CHATTER_UPSTREAM_MESSAGING`, `CHATTER_UPSTREAM_NOTIFICATION`: comma lists of
        /// `http://host:port` (read by `ChatterConfiguration`); none by default, and a role
        /// without instances answers 503. One instance may serve several roles; it is then
        /// probed once.
        public var upstreams: [Role: [ServiceEndpoint]] = [:]
        /// How long one attempt may take, from connecting to the last byte of the response.
        /// `CHATTER_UPSTREAM_TIMEOUT_MS`, default 10000.
        public var tryTimeout: Duration = .seconds(10)
        /// How often every instance's `GET /healthz` is probed. `CHATTER_UPSTREAM_HEALTH_INTERVAL_MS`, default 1000.
        public var healthCheckInterval: Duration = .seconds(1)
        /// How long a probe may take before the instance counts as down.
        /// `CHATTER_UPSTREAM_HEALTH_TIMEOUT_MS`, default 1000.
        public var healthCheckTimeout: Duration = .seconds(1)
        /// Further attempts on other instances after a failed one, where `RetryPolicy` allows.
        /// `CHATTER_UPSTREAM_RETRIES`, default 2.
        public var retries: Int = 2
        /// Largest WebSocket message relayed in either direction, in bytes.
        /// `CHATTER_UPSTREAM_WS_MAX_MESSAGE_BYTES`, default 1 MiB.
        public var maxWebSocketMessageBytes: Int = 1 << 20

        public init() {}

        /// The instances `configuration` lists, and the defaults above overridden by whichever
        /// of their variables are set in `environment`.
        public init(_ configuration: ChatterConfiguration, environment: [String: String]) throws {
            self.init()
            for (role, urls) in configuration.upstreams where role != .gateway {
                do {
                    upstreams[role] = try urls.map(ServiceEndpoint.init(url:))
                } catch {
                    throw ConfigurationError(
                        variable: "CHATTER_UPSTREAM_\(role.rawValue.uppercased())", value: urls.joined(separator: ","),
                        expected: "a comma list of http://host:port")
                }
            }
            try Self.milliseconds(environment, "CHATTER_UPSTREAM_TIMEOUT_MS", &tryTimeout)
            try Self.milliseconds(environment, "CHATTER_UPSTREAM_HEALTH_INTERVAL_MS", &healthCheckInterval)
            try Self.milliseconds(environment, "CHATTER_UPSTREAM_HEALTH_TIMEOUT_MS", &healthCheckTimeout)
            try Self.integer(environment, "CHATTER_UPSTREAM_RETRIES", &retries, minimum: 0)
            try Self.integer(environment, "CHATTER_UPSTREAM_WS_MAX_MESSAGE_BYTES", &maxWebSocketMessageBytes, minimum: 1024)
        }

        private static func integer(_ environment: [String: String], _ name: String, _ target: inout Int, minimum: Int) throws {
            guard let raw = environment[name], !raw.isEmpty else { return }
            guard let value = Int(raw), value >= minimum else {
                throw ConfigurationError(variable: name, value: raw, expected: "an integer ≥ \(minimum)")
            }
            target = value
        }

        private static func milliseconds(_ environment: [String: String], _ name: String, _ target: inout Duration) throws {
            var value = 0
            try integer(environment, name, &value, minimum: 1)
            if value > 0 { target = .milliseconds(value) }
        }
    }
}
