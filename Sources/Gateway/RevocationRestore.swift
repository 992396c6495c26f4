import AuthService
import ChatterCore
import Logging
import RedisClient
import ServiceLifecycle

/// Keeps the shared revocation list (Redis) complete: copies the still-relevant revocations
/// from the session store into it at start, and again whenever Redis has lost them (a restart
/// without persistence, a flush) — noticed by a marker key that disappears with them, checked
/// every `interval`. Retries while Redis is down; never fails the process.
struct RevocationRestore: Service {
    let auth: AuthService
    let redis: RedisClient
    let logger: Logger
    /// Names the deployment whose sessions these are (the signing key id): servers of other
    /// deployments sharing the Redis keep markers of their own.
    let deployment: String
    var interval: Duration = .seconds(1)
    var marker: String { "chatter:revocations-restored:\(deployment)" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var delay = interval
            while !Task.isCancelled {
                do {
                    if try await !redis.exists(marker) {
                        try await auth.restoreRevocations(logger: logger)
                        try await redis.set(marker, "1")
                    }
                    delay = interval
                } catch {
                    logger.warning("checking the revocation list in Redis failed; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
                    delay = min(delay * 2, .seconds(5))
                }
                try? await Task.sleep(for: delay)
            }
        }
    }
}
