import ChatterCore
import Foundation

/// The rate-limit rules a gateway applies: token buckets keyed by route and by who calls.
/// Loaded from `CHATTER_RATE_LIMITS_FILE` at start (built-in defaults otherwise) and replaced
/// at run time through `PUT /admin/v1/rate-limits`. JSON, snake_case, as the admin API
/// exchanges it.
public struct RateLimitPolicy: Codable, Sendable, Hashable {
    public var rules: [Rule]

    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// What a bucket is counted per.
    public enum Key: String, Codable, Sendable, Hashable, CaseIterable {
        /// The client's address (behind a trusted proxy, the address it reports).
        case ip
        /// The authenticated user; applies only to requests with a valid token.
        case user
        /// The user and the address together.
        case userIP = "user_ip"
        /// The `username` a login or registration names, so guessing one account's password
        /// from many addresses still meets one budget.
        case account
    }

    public struct Rule: Codable, Sendable, Hashable {
        /// Names the rule in logs, metrics and bucket keys; unique within a policy.
        public var name: String
        /// A path pattern: `*` matches one segment, a final `**` any rest (none included).
        public var route: String
        /// Upper-case methods the rule applies to; nil or empty for all.
        public var methods: [String]?
        public var key: Key
        public var capacity: Int
        public var refillPerSecond: Double

        public init(name: String, route: String, methods: [String]? = nil, key: Key, capacity: Int, refillPerSecond: Double) {
            self.name = name
            self.route = route
            self.methods = methods
            self.key = key
            self.capacity = capacity
            self.refillPerSecond = refillPerSecond
        }

        enum CodingKeys: String, CodingKey {
            case name, route, methods, key, capacity
            case refillPerSecond = "refill_per_second"
        }

        public var bucket: RateLimitRule { RateLimitRule(capacity: capacity, refillPerSecond: refillPerSecond) }

        /// Whether the rule covers `method` on `path` (a request path without its query).
        public func matches(method: String, path: String) -> Bool {
            if let methods, !methods.isEmpty, !methods.contains(method) { return false }
            return RoutePattern.matches(route, path: path)
        }
    }

    /// Checks every rule; the message names the first problem, for the admin's 422.
    public func validate() throws {
        var names = Set<String>()
        guard rules.count <= 200 else { throw invalid("at most 200 rules") }
        for rule in rules {
            guard !rule.name.isEmpty, rule.name.count <= 64,
                  rule.name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" || $0 == "." })
            else { throw invalid("rule names are 1-64 letters, digits, '-', '_' or '.'") }
            guard names.insert(rule.name).inserted else { throw invalid("rule name \(rule.name) is used twice") }
            guard rule.route.hasPrefix("/"), rule.route.count <= 256, RoutePattern.isValid(rule.route) else {
                throw invalid("rule \(rule.name): route must start with '/' and may end in '/**'")
            }
            guard (1...1_000_000).contains(rule.capacity) else { throw invalid("rule \(rule.name): capacity must be 1-1000000") }
            guard rule.refillPerSecond.isFinite, rule.refillPerSecond > 0, rule.refillPerSecond <= 1_000_000 else {
                throw invalid("rule \(rule.name): refill_per_second must be above 0 and at most 1000000")
            }
            for method in rule.methods ?? [] where !Self.knownMethods.contains(method) {
                throw invalid("rule \(rule.name): unknown method \(method)")
            }
        }
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    private func invalid(_ message: String) -> ChatterError {
        ChatterError(.validationFailed, message)
    }

    /// The built-in policy: generous enough for a busy real client and for the load generator
    /// on one machine, strict where guessing is the threat (login per address and per account).
    public static let defaults = RateLimitPolicy(rules: [
        Rule(name: "auth-per-ip", route: "/v1/auth/**", methods: ["POST"], key: .ip, capacity: 300, refillPerSecond: 5),
        Rule(name: "login-per-account", route: "/v1/auth/login", methods: ["POST"], key: .account, capacity: 10, refillPerSecond: 0.1),
        Rule(name: "api-per-user", route: "/v1/**", key: .user, capacity: 2000, refillPerSecond: 500),
    ])

    /// The policy in the file at `path` (JSON), validated.
    public static func load(path: String) throws -> RateLimitPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChatterError(.internalError, "cannot read the rate-limit rules", detail: "no readable file at \(path)")
        }
        return try decode(data)
    }

    public static func decode(_ data: Data) throws -> RateLimitPolicy {
        let policy: RateLimitPolicy
        do {
            policy = try JSONDecoder().decode(RateLimitPolicy.self, from: data)
        } catch {
            throw ChatterError(.validationFailed, "rate-limit rules must be {\"rules\": [{name, route, methods?, key, capacity, refill_per_second}]}",
                               detail: "\(error)")
        }
        try policy.validate()
        return policy
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{\"rules\":[]}".utf8)
    }
}

/// Path patterns for rules: literal segments, `*` for exactly one segment, a final `**` for
/// any number of segments (zero included).
enum RoutePattern {
    static func isValid(_ pattern: String) -> Bool {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true)
        for (index, segment) in segments.enumerated() where segment.contains("*") {
            if segment == "*" { continue }
            if segment == "**" && index == segments.count - 1 { continue }
            return false
        }
        return true
    }

    static func matches(_ pattern: String, path: String) -> Bool {
        let wanted = pattern.split(separator: "/", omittingEmptySubsequences: true)
        let actual = path.split(separator: "/", omittingEmptySubsequences: true)
        var index = 0
        for segment in wanted {
            if segment == "**" { return true }
            guard index < actual.count else { return false }
            if segment != "*" && segment != actual[index] { return false }
            index += 1
        }
        return index == actual.count
    }
}
