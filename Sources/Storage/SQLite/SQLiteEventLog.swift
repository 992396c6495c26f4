import ChatterCore
import Foundation
import Synchronization

/// The embedded event log: partitioned topics in a SQLite table, consumer-group offsets in
/// another. Subscribers in this process are woken on every append; the timeout in their wait
/// only matters for appends made by another process on the same file.
public final class SQLiteEventLog: EventLog {
    let store: SQLiteStore
    let partitions: Int
    let appended = ChangeNotifier()
    let tail: Mutex<EventLogTail>

    public init(store: SQLiteStore, partitions: Int = 4, tailCapacity: Int = 4096) {
        self.store = store
        self.partitions = max(1, partitions)
        tail = Mutex(EventLogTail(capacity: tailCapacity))
    }

    public func publish(_ events: [OutgoingEvent]) async throws {
        guard !events.isEmpty else { return }
        let records = try await store.write { connection in try self.append(events, on: connection) }
        didCommit(records)
    }

    /// Appends `events` inside the caller's write transaction and returns their records; the
    /// caller hands them to `didCommit` once that transaction committed.
    func append(_ events: [OutgoingEvent], on connection: SQLConnection) throws -> [EventRecord] {
        let now = Timestamp.now()
        var records: [EventRecord] = []
        records.reserveCapacity(events.count)
        for event in events {
            let partition = Self.partition(for: event.key, count: partitions)
            let offset = try connection.query(
                """
                INSERT INTO eventlog_heads (topic, partition, next_offset) VALUES (?, ?, 1)
                ON CONFLICT (topic, partition) DO UPDATE SET next_offset = next_offset + 1
                RETURNING next_offset - 1 AS offset
                """, [.text(event.topic), .int(partition)]
            ).first?.int64("offset") ?? 0
            var writer = JSONWriter(capacity: 128)
            writer.beginObject()
            for (name, value) in event.headers.sorted(by: { $0.key < $1.key }) { writer.field(name, value) }
            writer.endObject()
            let headers = writer.text
            try connection.execute(
                "INSERT INTO eventlog_records (topic, partition, offset, key, payload, headers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(event.topic), .int(partition), .int(offset), .text(event.key), .text(event.payload), .text(headers), .time(now)])
            records.append(EventRecord(topic: event.topic, partition: partition, offset: offset, key: event.key,
                                       payload: event.payload, headers: event.headers))
        }
        return records
    }

    /// After the commit: consumers at the head take the records from memory.
    func didCommit(_ records: [EventRecord]) {
        tail.withLock { tail in
            for record in records { tail.append(record) }
        }
        appended.notify()
    }

    public func subscribe(topic: String, group: String, start: StartPosition) async throws -> any EventSubscription {
        let partitions = self.partitions
        let positions = try await store.write { connection -> [Int: Int64] in
            var positions: [Int: Int64] = [:]
            for row in try connection.query(
                "SELECT partition, next_offset FROM eventlog_offsets WHERE group_id = ? AND topic = ?", [.text(group), .text(topic)]) {
                positions[Int(try row.int64("partition"))] = try row.int64("next_offset")
            }
            if positions.count < partitions {
                var heads: [Int: Int64] = [:]
                if start == .latest {
                    for row in try connection.query("SELECT partition, next_offset FROM eventlog_heads WHERE topic = ?", [.text(topic)]) {
                        heads[Int(try row.int64("partition"))] = try row.int64("next_offset")
                    }
                }
                for partition in 0..<partitions where positions[partition] == nil {
                    positions[partition] = heads[partition] ?? 0
                }
            }
            return positions
        }
        return SQLiteEventSubscription(log: self, topic: topic, group: group, positions: positions)
    }

    /// FNV-1a: stable across processes and releases, unlike `Hasher`.
    static func partition(for key: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }
}

final class SQLiteEventSubscription: EventSubscription {
    let log: SQLiteEventLog
    let topic: String
    let group: String
    /// Next offset to read per partition.
    private let positions: Mutex<[Int: Int64]>
    /// The first look after subscribing goes to the table.
    private let mustReadTable = Mutex(true)

    init(log: SQLiteEventLog, topic: String, group: String, positions: [Int: Int64]) {
        self.log = log
        self.topic = topic
        self.group = group
        self.positions = Mutex(positions)
    }

    func next(maxRecords: Int) async throws -> [EventRecord] {
        // The table is the truth; the in-memory tail answers while this consumer keeps up with
        // appends made by this process. A wait that times out (no append here) sends the next
        // look to the table, which is how appends by another process on the file are seen.
        var readTable = mustReadTable.withLock { $0 }
        while true {
            try Task.checkCancellation()
            let seen = log.appended.generation
            if !readTable {
                let current = positions.withLock { $0 }
                if let records = log.tail.withLock({ $0.records(topic: topic, from: current, limit: maxRecords) }) {
                    if !records.isEmpty { return advance(past: records) }
                } else {
                    readTable = true
                }
            }
            if readTable {
                let records = try await readFromTable(maxRecords: maxRecords)
                readTable = false
                mustReadTable.withLock { $0 = false }
                if !records.isEmpty { return records }
            }
            await log.appended.wait(since: seen, timeout: .seconds(1))
            if log.appended.generation == seen { readTable = true }
        }
    }

    private func advance(past records: [EventRecord]) -> [EventRecord] {
        positions.withLock { positions in
            for record in records { positions[record.partition] = max(positions[record.partition] ?? 0, record.offset + 1) }
        }
        return records
    }

    private func readFromTable(maxRecords: Int) async throws -> [EventRecord] {
        let current = positions.withLock { $0 }
        let topic = self.topic
        let (records, atHead) = try await log.store.read { connection -> ([EventRecord], [Int: Int64]) in
            var records: [EventRecord] = []
            var atHead: [Int: Int64] = [:]
            let decoder = JSONDecoder()
            for (partition, offset) in current.sorted(by: { $0.key < $1.key }) where records.count < maxRecords {
                let limit = maxRecords - records.count
                let rows = try connection.query(
                    "SELECT offset, key, payload, headers FROM eventlog_records WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?",
                    [.text(topic), .int(partition), .int(offset), .int(limit)])
                var next = offset
                for row in rows {
                    let headerText = try row.string("headers")
                    let headers = headerText == "{}" ? [:] : (try? decoder.decode([String: String].self, from: Data(headerText.utf8))) ?? [:]
                    let record = EventRecord(
                        topic: topic, partition: partition, offset: try row.int64("offset"), key: try row.string("key"),
                        payload: try row.string("payload"), headers: headers)
                    next = record.offset + 1
                    records.append(record)
                }
                if rows.count < limit { atHead[partition] = next }
            }
            return (records, atHead)
        }
        log.tail.withLock { tail in
            for (partition, head) in atHead { tail.seed(topic: topic, partition: partition, head: head) }
        }
        return advance(past: records)
    }

    /// The table's head per partition minus what this subscription has read.
    func lag() async throws -> Int64? {
        let current = positions.withLock { $0 }
        let topic = self.topic
        let heads = try await log.store.read { connection in
            try connection.query(
                "SELECT partition, max(offset) + 1 AS head FROM eventlog_records WHERE topic = ? GROUP BY partition", [.text(topic)]
            ).map { (Int(try $0.int64("partition")), try $0.int64("head")) }
        }
        return heads.reduce(0) { lag, head in lag + max(0, head.1 - (current[head.0] ?? head.1)) }
    }

    func commit(_ records: [EventRecord]) async throws {
        var next: [Int: Int64] = [:]
        for record in records where record.topic == topic {
            next[record.partition] = max(next[record.partition] ?? 0, record.offset + 1)
        }
        guard !next.isEmpty else { return }
        let group = self.group, topic = self.topic, offsets = next
        try await log.store.write { connection in
            for (partition, offset) in offsets {
                _ = try connection.query(
                    """
                    INSERT INTO eventlog_offsets (group_id, topic, partition, next_offset) VALUES (?, ?, ?, ?)
                    ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)
                    """, [.text(group), .text(topic), .int(partition), .int(offset)])
            }
        }
    }
}
