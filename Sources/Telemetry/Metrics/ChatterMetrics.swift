import Prometheus
import Synchronization

/// The instruments every role records into, one instance per process (tests make their own),
/// served by `/metrics`. Names and labels are the catalogue in docs/operations.md: base units,
/// `_total` on counters, and only bounded label values (route templates, never ids).
public final class ChatterMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Seconds; fine at the low end, where a healthy messenger lives, up to 10 s.
    public static let latencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    let inFlight: Gauge
    let webSocketConnections: Gauge
    let webSocketOpenedCounter: Counter
    let deliveryLatency: DurationHistogram
    let webSocketSendDuration: DurationHistogram
    let outboxRelayed: Counter
    let outboxBacklog: Gauge
    let outboxOldestAge: Gauge
    let poolInUse: Gauge
    let poolWaiting: Gauge
    let sendsQueued: Gauge
    let process: ProcessMetrics
    // Labelled instruments found once per label set: requests, sends and deliveries then skip
    // the registry's name and label checks.
    private let requestCounters = InstrumentCache<[String], Counter>()
    private let requestDurations = InstrumentCache<[String], DurationHistogram>()
    private let rateLimitCounters = InstrumentCache<String, Counter>()
    private let sentCounters = InstrumentCache<String, Counter>()
    private let deliveredCounters = InstrumentCache<String, Counter>()
    private let closedCounters = InstrumentCache<String, Counter>()
    private let historyCacheReads = InstrumentCache<String, Counter>()
    let historyCacheBytes: Gauge
    private let collectors = Mutex<[@Sendable () async -> Void]>([])

    public init(version: String = ChatterMetrics.defaultVersion) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        registry.makeGauge(descriptor: .chatter(
            "chatter_build_info", help: "Always 1; the build this process runs."),
            labels: [("version", version)]).set(1.0)
        inFlight = registry.makeGauge(descriptor: .chatter(
            "chatter_http_requests_in_flight", help: "HTTP requests being served."))
        webSocketConnections = registry.makeGauge(descriptor: .chatter(
            "chatter_websocket_connections", help: "Authenticated WebSocket connections open now."))
        webSocketOpenedCounter = registry.makeCounter(descriptor: .chatter(
            "chatter_websocket_connections_opened_total", help: "WebSocket connections that completed authentication."))
        deliveryLatency = registry.makeDurationHistogram(descriptor: .chatter(
            "chatter_delivery_latency_seconds", help: "message.created: from the send's commit to the frame queued on a recipient's socket."),
            buckets: Self.latencyBuckets)
        webSocketSendDuration = registry.makeDurationHistogram(descriptor: .chatter(
            "chatter_websocket_send_duration_seconds",
            help: "A WebSocket send frame: from its handling to its ack or error queued (membership check, write, commit)."),
            buckets: Self.latencyBuckets)
        outboxRelayed = registry.makeCounter(descriptor: .chatter(
            "chatter_outbox_relayed_total", help: "Outbox rows published to the event log."))
        historyCacheBytes = registry.makeGauge(descriptor: .chatter(
            "chatter_history_cache_bytes", help: "Bytes of newest history pages this process holds in memory."))
        outboxBacklog = registry.makeGauge(descriptor: .chatter(
            "chatter_outbox_backlog_events", help: "Outbox rows committed but not yet published to the event log."))
        outboxOldestAge = registry.makeGauge(descriptor: .chatter(
            "chatter_outbox_oldest_unpublished_age_seconds", help: "Age of the oldest unpublished outbox row (0 when none)."))
        poolInUse = registry.makeGauge(descriptor: .chatter(
            "chatter_db_pool_connections_in_use", help: "PostgreSQL connections leased by calls now (0 on SQLite)."))
        poolWaiting = registry.makeGauge(descriptor: .chatter(
            "chatter_db_pool_waiting_requests", help: "Calls waiting for a PostgreSQL connection."))
        sendsQueued = registry.makeGauge(descriptor: .chatter(
            "chatter_db_sends_queued", help: "Sends waiting for a PostgreSQL batch transaction (0 on SQLite)."))
        process = ProcessMetrics(registry: registry)
        // Series that exist from the start, so `rate()` and `increase()` see their first events.
        for transport in ["http", "websocket"] { sentCounter(transport: transport).increment(by: Int64(0)) }
        for reason in Self.closeReasons { closedCounter(reason: reason).increment(by: Int64(0)) }
        for result in Self.historyReadResults { historyReadCounter(result: result).increment(by: Int64(0)) }
    }

    /// The values of the `reason` label of `chatter_websocket_connections_closed_total`.
    public static let closeReasons = ["client", "slow_consumer", "revoked", "shutdown", "error"]

    public static let defaultVersion = "0.1.0"

    // MARK: HTTP

    public func requestStarted() { inFlight.increment() }

    /// One finished request. `route` is the router's template (`/v1/chats/{chat_id}`), or
    /// `unmatched` for paths no route serves, so that scanners cannot create series.
    public func requestFinished(method: String, route: String, status: Int, duration: Duration) {
        inFlight.decrement()
        let statusClass = (100...599).contains(status) ? "\(status / 100)xx" : "other"
        requestCounters.get([method, route, statusClass]) {
            registry.makeCounter(descriptor: .chatter(
                "chatter_http_requests_total", help: "HTTP requests answered, by route template and status class."),
                labels: [("method", method), ("route", route), ("status_class", statusClass)])
        }.increment()
        requestDurations.get([method, route]) {
            registry.makeDurationHistogram(descriptor: .chatter(
                "chatter_http_request_duration_seconds", help: "Time to answer an HTTP request, by route template."),
                labels: [("method", method), ("route", route)], buckets: Self.latencyBuckets)
        }.record(duration)
    }

    public func rateLimited(rule: String) {
        rateLimitCounters.get(rule) {
            registry.makeCounter(descriptor: .chatter(
                "chatter_rate_limit_rejections_total", help: "Requests refused with 429, by rule."),
                labels: [("rule", rule)])
        }.increment()
    }

    // MARK: Messages and real time

    /// A newest-page read: `hit` (from memory), `miss` (read from the store and kept) or
    /// `uncached` (a page from a seq, or no chat version to check against).
    public func historyPageRead(result: String) {
        historyReadCounter(result: result).increment()
    }

    /// The values of the `result` label of `chatter_history_cache_reads_total`.
    public static let historyReadResults = ["hit", "miss", "uncached"]

    private func historyReadCounter(result: String) -> Counter {
        historyCacheReads.get(result) {
            registry.makeCounter(descriptor: .chatter(
                "chatter_history_cache_reads_total", help: "History page reads, by how the page cache answered them."),
                labels: [("result", result)])
        }
    }

    public func historyCacheHeld(bytes: Int) {
        historyCacheBytes.set(Double(bytes))
    }

    /// An acknowledged new message (an idempotent replay of a send is not counted).
    public func messageSent(transport: String) {
        sentCounter(transport: transport).increment()
    }

    private func sentCounter(transport: String) -> Counter {
        sentCounters.get(transport) {
            registry.makeCounter(descriptor: .chatter(
                "chatter_messages_sent_total", help: "New messages acknowledged to their sender, by transport."),
                labels: [("transport", transport)])
        }
    }

    /// One WebSocket send answered. With `chatter_delivery_latency_seconds` it splits a
    /// delivery's latency at the commit: the write path before it, the fan-out after.
    public func webSocketSendFinished(after duration: Duration) {
        webSocketSendDuration.record(max(duration, .zero))
    }

    /// `count` live frames of one event queued to sockets; message creations also feed the
    /// latency histogram once per socket, measured from the send's commit.
    public func eventsDelivered(type: String, count: Int, sinceCommit latency: Duration?) {
        guard count > 0 else { return }
        deliveredCounters.get(type) {
            registry.makeCounter(descriptor: .chatter(
                "chatter_events_delivered_total", help: "Event frames queued to sockets, by event type."),
                labels: [("type", type)])
        }.increment(by: Int64(count))
        if let latency {
            let clamped = max(latency, .zero)  // clocks of two hosts may disagree a little
            for _ in 0..<count { deliveryLatency.record(clamped) }
        }
    }

    public func webSocketOpened() {
        webSocketOpenedCounter.increment()
        webSocketConnections.increment()
    }

    /// `reason`: one of `closeReasons`.
    public func webSocketClosed(reason: String) {
        webSocketConnections.decrement()
        closedCounter(reason: reason).increment()
    }

    private func closedCounter(reason: String) -> Counter {
        closedCounters.get(reason) {
            registry.makeCounter(descriptor: .chatter(
                "chatter_websocket_connections_closed_total", help: "Authenticated WebSocket connections closed, by reason."),
                labels: [("reason", reason)])
        }
    }

    // MARK: Outbox, event log, database

    public func outboxRelayed(_ count: Int) {
        if count > 0 { outboxRelayed.increment(by: Int64(count)) }
    }

    public func outboxBacklog(events: Int, oldestAge: Duration) {
        outboxBacklog.set(to: Double(events))
        outboxOldestAge.set(max(0, oldestAge.seconds))
    }

    /// `consumer` names what reads (`notification`, `membership`), not its consumer group, whose
    /// id is new in every process: a label per restart would grow without bound.
    public func consumerLag(consumer: String, topic: String, events: Int64) {
        registry.makeGauge(descriptor: .chatter(
            "chatter_eventlog_consumer_lag_events", help: "Records in the event log that this process' consumer has not read yet."),
            labels: [("consumer", consumer), ("topic", topic)]).set(Double(max(0, events)))
    }

    public func databasePool(inUse: Int, waiting: Int, queuedSends: Int = 0) {
        poolInUse.set(Double(inUse))
        poolWaiting.set(Double(waiting))
        sendsQueued.set(Double(queuedSends))
    }

    // MARK: Exposition

    /// Adds work to run before each scrape: reading values that are cheaper to ask for when
    /// someone looks (the outbox backlog, consumer lag) than to keep current on every change.
    public func addCollector(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// Prometheus' text format (0.0.4), after running the collectors.
    public func exposition() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect() }
        process.update()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension MetricNameDescriptor {
    /// A metric named in full (the catalogue's names already end in their unit), with help text.
    static func chatter(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
