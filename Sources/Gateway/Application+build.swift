import AuthService
import ChatService
import ChatterCore
import ChatterHTTP
import Foundation
import EventRelay
import Hummingbird
import HummingbirdWebSocket
import Logging
import MessagingService
import NotificationService
import NIOCore
import RedisCache
import RedisClient
import SQLiteStorage
import Secrets
import ServiceLifecycle
import Telemetry

/// Builds the all-in-one Chatter server: every role in one process on the embedded store.
/// `chatter serve` and the tests call this same function.
///
/// `onServerRunning` receives the bound port (useful with port 0).
public func buildApplication(
    configuration: ChatterConfiguration,
    logger: Logger,
    metrics: ChatterMetrics = ChatterMetrics(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    try await buildServer(configuration: configuration, logger: logger, metrics: metrics, onServerRunning: onServerRunning).application
}

/// The application plus what must run when a shutdown signal arrives, before the service group
/// drains: WebSockets are closed with 1001 "going away" first, so that the framework's own drain
/// does not close them with 1000.
public func buildServer(
    configuration: ChatterConfiguration,
    logger: Logger,
    metrics: ChatterMetrics = ChatterMetrics(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> (application: some ApplicationProtocol, beforeShutdown: @Sendable () async -> Void) {
    let router = Router(context: ChatterRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
    // Server spans (a no-op unless `chatter serve` bootstrapped a tracer from OTEL_*); before the
    // request-id middleware, so its access-log line carries the trace and span ids.
    router.add(middleware: RequestTracingMiddleware())
    router.add(middleware: RequestIDMiddleware(maxBodyBytes: configuration.maxBodyBytes))
    let mounted = configuration.runsAllRoles
        ? try await mountAllRoles(on: router, configuration: configuration, logger: logger, metrics: metrics)
        : try await mountRoles(on: router, configuration: configuration, logger: logger, metrics: metrics)
    let application = Application(
        router: router,
        // With the notification role here, `/v1/ws` is upgraded in the NIO pipeline and a socket
        // keeps no task; a gateway relaying sockets to notification processes uses the router,
        // checking UTF-8 and pinging clients as the notification role does, so a client sees one
        // protocol.
        server: mounted.notifications.map { .realtime($0) }
            ?? .http1WebSocketRelay(
                webSocketRouter: router,
                configuration: .init(ws: WebSocketRelay.serverConfiguration(
                    pingInterval: .milliseconds(configuration.webSocketPingIntervalMs)))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "chatter"),
        // Shut down in reverse: the server drains first, the stores close last.
        services: mounted.services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
    return (application, mounted.beforeShutdown)
}

/// What mounting the roles leaves to run: the services in start order, and what to do when a
/// shutdown signal arrives.
struct MountedRoles {
    var services: [any Service]
    /// The real-time role, when this process runs it: it owns `/v1/ws`.
    var notifications: NotificationService?
    var beforeShutdown: @Sendable () async -> Void
}

/// Every role in this process: cross-role lookups are direct calls.
func mountAllRoles(
    on router: Router<ChatterRequestContext>, configuration: ChatterConfiguration, logger: Logger, metrics: ChatterMetrics
) async throws -> MountedRoles {
    let components = try await ChatterComponents.make(configuration: configuration, logger: logger, metrics: metrics)
    let addresses = ClientAddressResolver(trustedProxies: Set(configuration.trustedProxies))
    router.add(middleware: RateLimitMiddleware(
        phase: .edge, policies: components.rateLimits, limiter: components.limiter, addresses: addresses, metrics: metrics))
    MetricsRoutes(metrics: metrics).addRoutes(to: router)
    AdminRoutes(adminToken: configuration.adminToken, policies: components.rateLimits).addRoutes(to: router)
    OperationsRoutes(
        checks: components.readinessChecks, openAPIDocument: try OperationsRoutes.loadDocument("openapi"),
        asyncAPIDocument: try OperationsRoutes.loadDocument("asyncapi")
    ).addRoutes(to: router)
    try WebClientRoutes.load().addRoutes(to: router)
    let authRoutes = AuthRoutes(service: components.auth)
    authRoutes.addPublicRoutes(to: router)

    let authenticated = router.group()
        .add(middleware: AuthenticationMiddleware(authenticator: components.auth))
        .add(middleware: RateLimitMiddleware(
            phase: .authenticated, policies: components.rateLimits, limiter: components.limiter, addresses: addresses,
            metrics: metrics))
    authRoutes.addAuthenticatedRoutes(to: authenticated)
    ChatRoutes(service: components.chats).addRoutes(to: authenticated)
    MessageRoutes(service: components.messaging, metrics: metrics).addRoutes(to: authenticated)

    let notifications = components.notifications
    return MountedRoles(
        services: components.storageServices + components.dependencyServices
            + [components.hasher, components.relay] + components.notifications.services,
        notifications: notifications,
        beforeShutdown: { await notifications.closeAllGoingAway() })
}

/// A subset of the roles (`--role`): each serves its own public routes and its internal API;
/// the gateway adds the edge (rate limits, admin API, documents, web client).
func mountRoles(
    on router: Router<ChatterRequestContext>, configuration: ChatterConfiguration, logger: Logger, metrics: ChatterMetrics
) async throws -> MountedRoles {
    let parts = try await RoleComponents.make(configuration: configuration, logger: logger, metrics: metrics)
    let addresses = ClientAddressResolver(trustedProxies: Set(configuration.trustedProxies))
    if let limits = parts.rateLimits {
        router.add(middleware: RateLimitMiddleware(phase: .edge, policies: limits.policies, limiter: limits.limiter, addresses: addresses, metrics: metrics))
    }
    MetricsRoutes(metrics: metrics).addRoutes(to: router)
    OperationsRoutes(
        checks: parts.readinessChecks, openAPIDocument: try OperationsRoutes.loadDocument("openapi"),
        asyncAPIDocument: try OperationsRoutes.loadDocument("asyncapi")
    ).addRoutes(to: router)
    if let limits = parts.rateLimits {
        AdminRoutes(adminToken: configuration.adminToken, policies: limits.policies).addRoutes(to: router)
        try WebClientRoutes.load().addRoutes(to: router)
    }
    let internalAPI = router.group(RouterPath(InternalAPI.pathPrefix))
        .add(middleware: InternalTokenMiddleware(token: configuration.internalToken ?? ""))
    var authenticated = router.group().add(middleware: AuthenticationMiddleware(authenticator: parts.authenticator))
    if let limits = parts.rateLimits {
        authenticated = authenticated.add(middleware: RateLimitMiddleware(
            phase: .authenticated, policies: limits.policies, limiter: limits.limiter, addresses: addresses, metrics: metrics))
    }
    if let auth = parts.auth, let users = parts.userLookup {
        let authRoutes = AuthRoutes(service: auth)
        authRoutes.addPublicRoutes(to: router)
        authRoutes.addAuthenticatedRoutes(to: authenticated)
        AuthInternalRoutes(users: users).addRoutes(to: internalAPI)
    }
    if let chats = parts.chats {
        ChatRoutes(service: chats).addRoutes(to: authenticated)
        parts.chatInternal?.addRoutes(to: internalAPI)
    }
    if let messaging = parts.messaging {
        MessageRoutes(service: messaging, metrics: metrics).addRoutes(to: authenticated)
        MessagingInternalRoutes(service: messaging).addRoutes(to: internalAPI)
    }
    var proxy: GatewayProxy?
    let proxied = Set(Role.allCases).subtracting(configuration.roles)
    if configuration.roles.contains(.gateway), !proxied.isEmpty {
        // The edge: a bad token is refused here, before any role is asked, and the user-keyed
        // rate limits count the caller once for the whole cluster.
        var edge = router.group().add(middleware: AuthenticationMiddleware(
            authenticator: parts.authenticator, exempt: AuthenticationMiddleware.publicProxiedPaths))
        if let limits = parts.rateLimits {
            edge = edge.add(middleware: RateLimitMiddleware(
                phase: .authenticated, policies: limits.policies, limiter: limits.limiter, addresses: addresses, metrics: metrics))
        }
        let gatewayProxy = GatewayProxy(
            configuration: try GatewayProxy.Configuration(configuration, environment: ProcessInfo.processInfo.environment),
            proxying: proxied, trustedProxies: configuration.trustedProxies, client: parts.http, logger: logger)
        gatewayProxy.addRoutes(to: edge)
        proxy = gatewayProxy
    }
    let notifications = parts.notifications
    let finalProxy = proxy
    return MountedRoles(
        services: parts.storageServices + parts.dependencyServices + parts.roleServices + (proxy?.services ?? []),
        notifications: notifications,
        beforeShutdown: {
            await notifications?.closeAllGoingAway()
            await finalProxy?.closeAllGoingAway()
        })
}

/// The roles wired to their adapters. Built once per process.
struct ChatterComponents {
    /// The stores and their upkeep (see `StorageBackend`).
    var storageServices: [any Service]
    var hasher: PasswordHasher
    var auth: AuthService
    var chats: ChatService
    var messaging: MessagingService
    var relay: OutboxRelay
    var notifications: NotificationService
    /// Clients of external dependencies (Redis), started before the roles that use them.
    var dependencyServices: [any Service]
    var readinessChecks: [ReadinessCheck]
    var rateLimits: RateLimitPolicyStore
    var limiter: any RateLimiter

    static func make(configuration: ChatterConfiguration, logger: Logger, metrics: ChatterMetrics) async throws -> ChatterComponents {
        let storage = try await StorageBackend.open(configuration: configuration, logger: logger)
        do {
            let (keys, tokens, hasher) = try await authCredentials(configuration)
            let users = storage.users
            let chatRepository = storage.chats
            var dependencyServices: [any Service] = []
            var readinessChecks = storage.readinessChecks
            let revocations: any RevocationList
            var redis: RedisClient?
            var gate: GatedRevocationList?
            if let url = configuration.redisURL {
                let client = try RedisClient(configuration: try RedisConfiguration(url: url), logger: logger)
                redis = client
                revocations = RedisRevocationList(redis: client)
                readinessChecks.append(ReadinessCheck(name: "redis") { _ = try await client.send(["PING"]) })
            } else if storage.usableBeforeRunning {
                revocations = InMemoryRevocationList()
            } else {
                let gated = GatedRevocationList(InMemoryRevocationList())
                gate = gated
                revocations = gated
                readinessChecks.append(ReadinessCheck(name: "revocations") {
                    guard gated.isOpen else { throw ChatterError.unavailable("revocations", detail: "still restoring") }
                })
            }
            let auth = AuthService(
                users: users, sessions: storage.sessions, tokens: tokens, hasher: hasher,
                revocations: revocations, refreshTokenTTL: configuration.refreshTokenTTL)
            if let redis {
                // Redis is reached once its client runs; the restorer fills it then, and again if it loses data.
                dependencyServices += [redis, RevocationRestore(auth: auth, redis: redis, logger: logger, deployment: keys.last?.keyID ?? "default")]
            } else if let gate {
                dependencyServices.append(GatedRevocationRestore(auth: auth, gate: gate, logger: logger))
            } else {
                try await auth.restoreRevocations(logger: logger)
            }
            let policy = try configuration.rateLimitsFile.map { try RateLimitPolicy.load(path: $0) } ?? .defaults
            let rateLimits = RateLimitPolicyStore(initial: policy, redis: redis, logger: logger)
            let limiter: any RateLimiter
            if let redis {
                limiter = RedisRateLimiter(redis: redis)
                dependencyServices.append(RateLimitPolicySync(store: rateLimits, redis: redis, logger: logger))
            } else {
                limiter = InMemoryRateLimiter()
            }
            let messageRepository = storage.cachingHistory(configuration: configuration, redis: redis, metrics: metrics)
            let membershipCache = MembershipCache()
            let messaging = MessagingService(
                messages: messageRepository, membership: ChatMembershipLookup(chats: chatRepository, cache: membershipCache))
            let eventLog = storage.eventLog
            let outbox = storage.outbox
            var lagProbes: [ConsumerLagProbe] = []
            if storage.eventLogIsShared {
                // Other processes change memberships too; their events keep this cache true.
                let invalidation = MembershipInvalidation(log: eventLog, cache: membershipCache, logger: logger)
                lagProbes.append(invalidation.lag)
                dependencyServices.append(invalidation)
            }
            let notifications = NotificationService(
                configuration: notificationConfiguration(configuration), authenticator: auth, messaging: messaging,
                chats: ChatMembersDirectory(chats: chatRepository), revocations: revocations, log: eventLog,
                // With Redis, typing and presence reach sockets held by other processes.
                shared: redis.map { SharedRealtime(directory: RedisPresenceDirectory(redis: $0), bus: RedisSignalBus(redis: $0)) },
                metrics: metrics, logger: logger)
            lagProbes.append(notifications.dispatcherLag)
            addCollectors(to: metrics, outbox: outbox, lagProbes: lagProbes, poolUsage: storage.poolUsage)
            return ChatterComponents(
                storageServices: storage.services, hasher: hasher, auth: auth,
                chats: ChatService(chats: chatRepository, summaries: MessagingSummaryLookup(messages: messageRepository),
                                   users: AuthUserLookup(users: users), membershipCache: membershipCache),
                messaging: messaging,
                relay: OutboxRelay(outbox: outbox, log: eventLog, logger: logger, metrics: metrics),
                notifications: notifications,
                dependencyServices: dependencyServices, readinessChecks: readinessChecks,
                rateLimits: rateLimits, limiter: limiter)
        } catch {
            await storage.close()
            throw error
        }
    }
}

/// Values read when Prometheus scrapes rather than kept current on every change. Each read is
/// bounded, so a dependency that is down leaves the last value and does not hang `/metrics`.
func addCollectors(
    to metrics: ChatterMetrics, outbox: (any OutboxReader)?, lagProbes: [ConsumerLagProbe],
    poolUsage: @escaping @Sendable () -> (inUse: Int, waiting: Int, queuedSends: Int)
) {
    if let outbox {
        metrics.addCollector {
            guard let backlog = try? await withTimeout(.seconds(1), { try await outbox.backlog() }) else { return }
            metrics.outboxBacklog(events: backlog.events, oldestAge: backlog.oldest.map { Timestamp.now().duration(since: $0) } ?? .zero)
        }
    }
    for probe in lagProbes {
        metrics.addCollector {
            guard let lag = try? await withTimeout(.seconds(1), { await probe.lag() }) else { return }
            metrics.consumerLag(consumer: probe.consumer, topic: probe.topic, events: lag)
        }
    }
    metrics.addCollector {
        let usage = poolUsage()
        metrics.databasePool(inUse: usage.inUse, waiting: usage.waiting, queuedSends: usage.queuedSends)
    }
}

func notificationConfiguration(_ configuration: ChatterConfiguration) -> NotificationService.Configuration {
    var realtime = NotificationService.Configuration()
    realtime.sendQueueCapacity = configuration.webSocketSendQueue
    realtime.authenticationTimeout = .milliseconds(configuration.webSocketAuthTimeoutMs)
    realtime.presenceGrace = .milliseconds(configuration.presenceGraceMs)
    // One heartbeat task pings every socket (the framework's per-socket ping task is off).
    realtime.pingInterval = .milliseconds(configuration.webSocketPingIntervalMs)
    realtime.syncWindow = .milliseconds(configuration.webSocketSyncWindowMs)
    return realtime
}

/// Creates the data directory (owner-only) and opens the embedded store in it, applying
/// migrations. `chatter migrate` calls this alone.
public func openStore(configuration: ChatterConfiguration, logger: Logger) async throws -> SQLiteStore {
    var logger = logger
    logger[metadataKey: LoggingKeys.dataDirectory] = .string(configuration.dataDirectory)
    do {
        try FileManager.default.createDirectory(
            atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        throw ChatterError(.internalError, "cannot create data directory", detail: "\(configuration.dataDirectory): \(error)")
    }
    let path = (configuration.dataDirectory as NSString).appendingPathComponent("chatter.sqlite")
    return try await SQLiteStore.open(path: path, logger: logger)
}

/// The auth role's signing keys, the token issuer made from them, and the password hasher.
func authCredentials(_ configuration: ChatterConfiguration) async throws -> (keys: [SigningKeyMaterial], tokens: AccessTokens, hasher: PasswordHasher) {
    let keys = try await FileSigningKeyStore(directory: try keysDirectory(configuration)).loadOrCreateKeys()
    let tokens = try AccessTokens(
        keys: keys, issuer: configuration.tokenIssuer, audience: configuration.tokenAudience,
        lifetimeSeconds: configuration.accessTokenTTL)
    let hasher = PasswordHasher(
        cost: configuration.bcryptCost, threads: configuration.passwordHashThreads, queueLimit: configuration.passwordHashQueueLimit)
    return (keys, tokens, hasher)
}

/// The keys directory: `CHATTER_KEYS_DIR`, created owner-only if missing, or the data directory.
func keysDirectory(_ configuration: ChatterConfiguration) throws -> String {
    guard let directory = configuration.keysDirectory else { return configuration.dataDirectory }
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        throw ChatterError(.internalError, "cannot create keys directory", detail: "\(directory): \(error)")
    }
    return directory
}
