import AuthService
import ChatService
import ChatterCore
import ChatterHTTP
import EventRelay
import Logging
import MessagingService
import NotificationService
import RedisCache
import RedisClient
import Secrets
import ServiceClient
import ServiceLifecycle
import Telemetry

/// The roles of one process when it runs a subset of them (`--role`): each role present is
/// wired to its own store; what it needs from a role that runs elsewhere comes from that role's
/// internal API (`InternalAPIClient`) or from its events on the shared log. Nothing here reads
/// another role's tables.
struct RoleComponents {
    var roles: Set<Role>
    var storageServices: [any Service] = []
    var dependencyServices: [any Service] = []
    var roleServices: [any Service] = []
    var readinessChecks: [ReadinessCheck] = []
    /// Checks bearer tokens: the auth role itself, or auth's JWKS plus the revocation list.
    var authenticator: any BearerAuthenticator
    var auth: AuthService?
    var userLookup: (any UserLookup)?
    var chats: ChatService?
    var chatInternal: ChatInternalRoutes?
    var messaging: MessagingService?
    var notifications: NotificationService?
    /// The gateway's rate limits; nil when this process is not a gateway (limits apply once, at the edge).
    var rateLimits: (policies: RateLimitPolicyStore, limiter: any RateLimiter)?
    var http: ServiceHTTPClient
    var clients: [Role: InternalAPIClient]

    static func make(configuration: ChatterConfiguration, logger: Logger, metrics: ChatterMetrics) async throws -> RoleComponents {
        let roles = configuration.roles
        try validate(configuration)
        let http = ServiceHTTPClient()
        let token = configuration.internalToken ?? ""
        var clients: [Role: InternalAPIClient] = [:]
        for (role, urls) in configuration.upstreams {
            let endpoints = try urls.map { url in
                do { return try ServiceEndpoint(url: url) } catch {
                    throw ConfigurationError(variable: "CHATTER_UPSTREAM_\(role.rawValue.uppercased())", value: url, expected: "http://host:port")
                }
            }
            clients[role] = InternalAPIClient(role: role, endpoints: endpoints, token: token, http: http)
        }
        func client(_ role: Role) -> InternalAPIClient {
            // `validate` made sure every role this process calls has instances configured.
            clients[role] ?? InternalAPIClient(role: role, endpoints: [], token: token, http: http)
        }

        let redis = try RedisClient(configuration: try RedisConfiguration(url: configuration.redisURL ?? ""), logger: logger)
        let revocations = RedisRevocationList(redis: redis)
        var components = RoleComponents(
            roles: roles, authenticator: JWKSAuthenticator(
                issuer: configuration.tokenIssuer, audience: configuration.tokenAudience, revocations: revocations,
                fetch: { [auth = client(.auth)] in try await auth.jwks() }),
            http: http, clients: clients)
        components.dependencyServices.append(redis)
        components.readinessChecks.append(ReadinessCheck(name: "redis") { _ = try await redis.send(["PING"]) })

        // The stores: only roles that own tables open PostgreSQL.
        let needsStore = !roles.isDisjoint(with: [.auth, .chat, .messaging])
        let storage = needsStore ? try await StorageBackend.open(configuration: configuration, logger: logger) : nil
        var eventLog: (any EventLog)?
        if let storage {
            components.storageServices = storage.services
            components.readinessChecks += storage.readinessChecks
            eventLog = storage.eventLog
        } else if !roles.isDisjoint(with: [.notification]), let shared = try StorageBackend.sharedLog(logger: logger) {
            // A gateway alone reads no events: it opens no Kafka client.
            components.storageServices = [shared.service]
            components.readinessChecks.append(shared.check)
            eventLog = shared.log
        }
        func sharedLog() throws -> any EventLog {
            // `validate` made sure Kafka is configured for the roles that call this.
            guard let eventLog else { throw ChatterError(.internalError, "no shared event log", detail: "CHATTER_KAFKA_BROKERS is not set") }
            return eventLog
        }
        do {
            var lagProbes: [ConsumerLagProbe] = []
            if roles.contains(.auth), let storage {
                let (keys, tokens, hasher) = try await authCredentials(configuration)
                let auth = AuthService(
                    users: storage.users, sessions: storage.sessions, tokens: tokens, hasher: hasher,
                    revocations: revocations, refreshTokenTTL: configuration.refreshTokenTTL)
                components.auth = auth
                components.authenticator = auth
                components.userLookup = AuthUserLookup(users: storage.users)
                components.roleServices.append(hasher)
                components.dependencyServices.append(
                    RevocationRestore(auth: auth, redis: redis, logger: logger, deployment: keys.last?.keyID ?? "default"))
            }
            let membershipCache = MembershipCache()
            var messagingOperations: (any MessagingOperations)?
            if roles.contains(.messaging), let storage {
                let membership: any MembershipLookup = roles.contains(.chat)
                    ? ChatMembershipLookup(chats: storage.chats, cache: membershipCache)
                    : RemoteChatDirectory(client: client(.chat), cache: membershipCache)
                let messaging = MessagingService(
                    messages: storage.cachingHistory(configuration: configuration, redis: redis, metrics: metrics), membership: membership)
                components.messaging = messaging
                messagingOperations = messaging
                // The chat role may run elsewhere: its events keep the membership cache true.
                let invalidation = MembershipInvalidation(log: try sharedLog(), cache: membershipCache, logger: logger)
                lagProbes.append(invalidation.lag)
                components.dependencyServices.append(invalidation)
            }
            if roles.contains(.chat), let storage {
                let summaries: any ChatSummaryLookup = components.messaging.map { _ in MessagingSummaryLookup(messages: storage.messages) }
                    ?? RemoteMessaging(client: client(.messaging))
                let users: any UserLookup = components.userLookup ?? RemoteUserLookup(client: client(.auth))
                components.chats = ChatService(chats: storage.chats, summaries: summaries, users: users, membershipCache: membershipCache)
                components.chatInternal = ChatInternalRoutes(
                    membership: ChatMembershipLookup(chats: storage.chats), members: ChatMembersDirectory(chats: storage.chats))
            }
            if let storage, !roles.isDisjoint(with: [.chat, .messaging]) {
                // Whichever chat or messaging instance holds the relay lock publishes the outbox.
                components.roleServices.append(OutboxRelay(outbox: storage.outbox, log: try sharedLog(), logger: logger, metrics: metrics))
            }
            if roles.contains(.notification) {
                let members: any ChatMembersLookup = storage.flatMap { roles.contains(.chat) ? ChatMembersDirectory(chats: $0.chats) : nil }
                    ?? RemoteChatDirectory(client: client(.chat))
                let notifications = NotificationService(
                    configuration: notificationConfiguration(configuration), authenticator: components.authenticator,
                    messaging: messagingOperations ?? RemoteMessaging(client: client(.messaging)),
                    chats: members, revocations: revocations, log: try sharedLog(),
                    shared: SharedRealtime(directory: RedisPresenceDirectory(redis: redis), bus: RedisSignalBus(redis: redis)),
                    metrics: metrics, logger: logger)
                components.notifications = notifications
                components.roleServices += notifications.services
                lagProbes.append(notifications.dispatcherLag)
            }
            if roles.contains(.gateway) {
                let policy = try configuration.rateLimitsFile.map { try RateLimitPolicy.load(path: $0) } ?? .defaults
                let policies = RateLimitPolicyStore(initial: policy, redis: redis, logger: logger)
                components.rateLimits = (policies, RedisRateLimiter(redis: redis))
                components.dependencyServices.append(RateLimitPolicySync(store: policies, redis: redis, logger: logger))
            }
            components.dependencyServices.append(ServiceClientShutdown(client: http))
            var poolUsage: @Sendable () -> (inUse: Int, waiting: Int, queuedSends: Int) = { (inUse: 0, waiting: 0, queuedSends: 0) }
            if let storage { poolUsage = storage.poolUsage }
            addCollectors(to: metrics, outbox: storage?.outbox, lagProbes: lagProbes, poolUsage: poolUsage)
            return components
        } catch {
            await storage?.close()
            throw error
        }
    }

    /// Refuses to start a partial deployment that could not work, saying what is missing.
    static func validate(_ configuration: ChatterConfiguration) throws {
        let roles = configuration.roles
        func require(_ present: Bool, _ variable: String, _ why: String) throws {
            guard present else {
                throw ConfigurationError(variable: variable, value: "(unset)", expected: "set when running --role \(roles.sorted().map(\.rawValue).joined(separator: ",")): \(why)")
            }
        }
        try require(configuration.internalToken != nil, "CHATTER_INTERNAL_TOKEN", "role processes authenticate to each other with it")
        try require(configuration.redisURL != nil, "CHATTER_REDIS_URL", "revocations, rate limits and presence are shared through Redis")
        if !roles.isDisjoint(with: [.auth, .chat, .messaging]) {
            try require(configuration.databaseURL != nil, "CHATTER_DATABASE_URL", "auth, chat and messaging keep their tables in PostgreSQL")
        }
        if !roles.isDisjoint(with: [.chat, .messaging, .notification]) {
            try require(StorageBackend.kafkaConfigured(), "CHATTER_KAFKA_BROKERS", "events cross processes on Kafka")
        }
        var calls: Set<Role> = []
        if !roles.contains(.auth) { calls.insert(.auth) }  // JWKS
        if roles.contains(.chat) { calls.formUnion([.auth, .messaging]) }
        if roles.contains(.messaging) { calls.insert(.chat) }
        if roles.contains(.notification) { calls.formUnion([.chat, .messaging]) }
        if roles.contains(.gateway) { calls.formUnion(Role.allCases) }  // it forwards to every role it does not run
        for role in calls.subtracting(roles).sorted() {
            try require(!(configuration.upstreams[role] ?? []).isEmpty, "CHATTER_UPSTREAM_\(role.rawValue.uppercased())", "this process calls the \(role) role")
        }
    }
}

/// Closes the role-to-role client's idle connections once everything else has stopped.
struct ServiceClientShutdown: Service {
    let client: ServiceHTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
