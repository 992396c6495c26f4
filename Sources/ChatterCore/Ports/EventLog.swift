/// A record on the event log: one event, its place (topic, partition, offset) and its key.
public struct EventRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    /// Records with the same key land in the same partition, in publish order (the chat id).
    public var key: String
    public var payload: String
    public var headers: [String: String]

    public init(topic: String, partition: Int, offset: Int64, key: String, payload: String, headers: [String: String] = [:]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.payload = payload
        self.headers = headers
    }
}

/// What a producer hands to the log.
public struct OutgoingEvent: Sendable, Hashable {
    public var topic: String
    public var key: String
    public var payload: String
    public var headers: [String: String]

    public init(topic: String, key: String, payload: String, headers: [String: String] = [:]) {
        self.topic = topic
        self.key = key
        self.payload = payload
        self.headers = headers
    }
}

/// Where a consumer group starts when it has no committed offset yet.
public enum StartPosition: Sendable, Hashable {
    /// Every record still in the log.
    case earliest
    /// Only records published after subscribing.
    case latest
}

/// The event log port: partitioned topics, consumer groups, committed offsets. Embedded (a
/// SQLite table) in the all-in-one server; Kafka in production.
public protocol EventLog: Sendable {
    /// Appends `events` in order; events with the same key keep their relative order.
    func publish(_ events: [OutgoingEvent]) async throws
    /// A pull-based subscription of `group` to every partition of `topic`, resuming after the
    /// group's committed offsets.
    func subscribe(topic: String, group: String, start: StartPosition) async throws -> any EventSubscription
    /// What the log is, for traces' `messaging.system` (`kafka`, `embedded`).
    var system: String { get }
}

extension EventLog {
    public var system: String { "embedded" }
}

public protocol EventSubscription: Sendable {
    /// Waits until records are available and returns up to `maxRecords` of them, in order per
    /// partition. Throws `CancellationError` when the calling task is cancelled.
    func next(maxRecords: Int) async throws -> [EventRecord]
    /// Marks `records` (and everything before them in their partitions) as processed.
    func commit(_ records: [EventRecord]) async throws
    /// Records in the log this subscription has not read yet, summed over its partitions, as
    /// far as the adapter knows without waiting on the network; nil when it cannot tell.
    func lag() async throws -> Int64?
}

extension EventSubscription {
    public func lag() async throws -> Int64? { nil }
}

/// Committed outbox rows waiting to be published, in commit order.
public struct OutboxEntry: Sendable, Hashable {
    public var id: Int64
    public var topic: String
    public var key: String
    public var payload: String
    /// Published as the record's headers (see `EventHeader`).
    public var headers: [String: String]

    public init(id: Int64, topic: String, key: String, payload: String, headers: [String: String] = [:]) {
        self.id = id
        self.topic = topic
        self.key = key
        self.payload = payload
        self.headers = headers
    }

    public var outgoing: OutgoingEvent { OutgoingEvent(topic: topic, key: key, payload: payload, headers: headers) }
}

/// Record headers every chat event carries, so consumers can route it without parsing the
/// payload (Kafka headers in production).
public enum EventHeader {
    /// The event's kind, e.g. `message.created`.
    public static let kind = "chatter-kind"
    /// The message's `seq` on `message.created`.
    public static let seq = "chatter-seq"
    /// When the change committed, in milliseconds since the epoch.
    public static let occurredAt = "chatter-occurred-at"
    /// W3C Trace Context of the change's trace (the send's span, then the producer's).
    public static let traceparent = "traceparent"
}

/// The read side of the transactional outbox, for the relay.
public protocol OutboxReader: Sendable {
    /// The oldest unpublished entries.
    func unpublished(limit: Int) async throws -> [OutboxEntry]
    func markPublished(ids: [Int64], at: Timestamp) async throws
    /// Changes whenever new entries may have been committed; read it before `unpublished`.
    var generation: UInt64 { get }
    /// Returns once `generation` has moved past `since` (new entries may exist), or after
    /// `timeout`, which covers entries committed by another process.
    func waitForEntries(since generation: UInt64, timeout: Duration) async
    /// Publishes `entries` to `log` and marks them published. A store that also holds `log`
    /// does both in one transaction; otherwise a crash between the steps republishes the batch
    /// (duplicates, which consumers drop by `(chat_id, seq)`, never a gap).
    func relay(_ entries: [OutboxEntry], to log: any EventLog) async throws
    /// Relays the oldest unpublished entries (up to `limit`) to `log`; returns how many.
    func relayNext(limit: Int, to log: any EventLog) async throws -> Int
    /// How far publishing is behind: for metrics and alerts.
    func backlog() async throws -> OutboxBacklog
}

/// Outbox rows committed but not yet published.
public struct OutboxBacklog: Sendable, Hashable {
    public var events: Int
    /// When the oldest of them committed; nil when there are none.
    public var oldest: Timestamp?

    public init(events: Int, oldest: Timestamp?) {
        self.events = events
        self.oldest = oldest
    }
}

extension OutboxReader {
    public func relayNext(limit: Int, to log: any EventLog) async throws -> Int {
        try await relayNextInSteps(limit: limit, to: log)
    }

    public func relay(_ entries: [OutboxEntry], to log: any EventLog) async throws {
        try await publishThenMark(entries, to: log)
    }

    /// The default `relayNext`, for implementations that only sometimes do better.
    public func relayNextInSteps(limit: Int, to log: any EventLog) async throws -> Int {
        let batch = try await unpublished(limit: limit)
        if !batch.isEmpty { try await relay(batch, to: log) }
        return batch.count
    }

    /// The default `relay`: publish, then mark (a crash in between republishes the batch).
    public func publishThenMark(_ entries: [OutboxEntry], to log: any EventLog) async throws {
        try await log.publish(entries.map(\.outgoing))
        try await markPublished(ids: entries.map(\.id), at: .now())
    }
}
