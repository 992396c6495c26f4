import ChatterCore
import ChatterHTTP
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Telemetry

/// Applies the current `RateLimitPolicy`. It sits twice in the router: before authentication
/// for rules keyed by address or account (a flood of bad logins is refused before any password
/// is hashed), and after it for rules keyed by user. Every matching rule takes a token; the
/// request is refused with 429 when any bucket is empty, and the response reports the
/// tightest bucket in `RateLimit-Limit`/`-Remaining`/`-Reset` (and `Retry-After` on 429).
///
/// When the limiter itself fails (Redis down) the request goes through and a warning is
/// logged: limits protect the service, and refusing everything would be the outage itself.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = ChatterRequestContext

    enum Phase: Sendable {
        /// Rules keyed by `ip` or `account`.
        case edge
        /// Rules keyed by `user` or `user_ip` (identity known).
        case authenticated

        func covers(_ key: RateLimitPolicy.Key) -> Bool {
            switch (self, key) {
            case (.edge, .ip), (.edge, .account), (.authenticated, .user), (.authenticated, .userIP): true
            default: false
            }
        }
    }

    let phase: Phase
    let policies: RateLimitPolicyStore
    let limiter: any RateLimiter
    let addresses: ClientAddressResolver
    let metrics: ChatterMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        let rules = policies.current.rules.filter { phase.covers($0.key) && $0.matches(method: method, path: path) }
        guard !rules.isEmpty else { return try await next(request, context) }

        var request = request
        var tightest: (rule: RateLimitPolicy.Rule, decision: RateLimitDecision)?
        for rule in rules {
            guard let subject = try await subject(for: rule.key, request: &request, context: context) else { continue }
            let decision: RateLimitDecision
            do {
                decision = try await limiter.take(key: "\(rule.name):\(subject)", rule: rule.bucket)
            } catch {
                context.logger.warning("rate limiter unavailable; request let through", metadata: [
                    LoggingKeys.rateLimitRule: .string(rule.name), LoggingKeys.errorDetail: .string("\(error)"),
                ])
                continue
            }
            if Self.isTighter(decision, than: tightest?.decision) { tightest = (rule, decision) }
            if !decision.allowed { break }
        }
        guard let tightest else { return try await next(request, context) }
        if !tightest.decision.allowed {
            context.logger.info("rate limited", metadata: [LoggingKeys.rateLimitRule: .string(tightest.rule.name)])
            metrics.rateLimited(rule: tightest.rule.name)
            var response = ChatterError(.rateLimited, "too many requests, retry later").response()
            Self.stamp(&response.headers, tightest.rule, tightest.decision)
            response.headers[.retryAfter] = String(max(1, (tightest.decision.retryAfterMilliseconds + 999) / 1000))
            return response
        }
        var response = try await next(request, context)
        Self.stamp(&response.headers, tightest.rule, tightest.decision)
        return response
    }

    /// Refusals first, then the fewest tokens left.
    static func isTighter(_ decision: RateLimitDecision, than other: RateLimitDecision?) -> Bool {
        guard let other else { return true }
        if decision.allowed != other.allowed { return !decision.allowed }
        return decision.remaining < other.remaining
    }

    static func stamp(_ headers: inout HTTPFields, _ rule: RateLimitPolicy.Rule, _ decision: RateLimitDecision) {
        headers[.rateLimitLimit] = String(rule.capacity)
        headers[.rateLimitRemaining] = String(max(0, decision.remaining))
        headers[.rateLimitReset] = String((decision.resetAfterMilliseconds + 999) / 1000)
    }

    /// Who the bucket is counted for, or nil when the rule does not apply to this request (no
    /// identity for a user rule, no username in a login body).
    private func subject(for key: RateLimitPolicy.Key, request: inout Request, context: Context) async throws -> String? {
        switch key {
        case .ip:
            return addresses.address(of: request, context: context)
        case .user:
            return context.identity?.userID
        case .userIP:
            guard let user = context.identity?.userID else { return nil }
            return "\(user)@\(addresses.address(of: request, context: context))"
        case .account:
            // The body stays readable for the route after this.
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let username = object["username"] as? String, !username.isEmpty
            else { return nil }
            return String(username.lowercased().prefix(64))
        }
    }
}

/// Which address a request counts against: the peer's, or, when the peer is a trusted proxy
/// (`CHATTER_TRUSTED_PROXIES`, e.g. the nginx in front), the client address it reports in
/// `X-Real-IP` or as the last `X-Forwarded-For` hop. Headers from anyone else are ignored, so
/// a client cannot pick its own bucket.
struct ClientAddressResolver: Sendable {
    let trustedProxies: Set<String>

    func address(of request: Request, context: ChatterRequestContext) -> String {
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard trustedProxies.contains(peer) else { return peer }
        if let real = request.headers[.xRealIP]?.trimmingCharacters(in: .whitespaces), !real.isEmpty {
            return real
        }
        if let forwarded = request.headers[.xForwardedFor],
           let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty {
            return last
        }
        return peer
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
    static let rateLimitReset = HTTPField.Name("RateLimit-Reset")!
    static let xRealIP = HTTPField.Name("X-Real-IP")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
