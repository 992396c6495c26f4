import ChatterCore
import Foundation
import Logging
import Testing

@testable import SQLiteStorage

@Suite struct MigrationTests {
    @Test func theRelayCursorStartsBelowTheOldestUnpublishedRow() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-migrate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "migrations", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try SQLConnection(path: directory + "/chatter.sqlite")
        defer { connection.close() }
        try Migrations.apply(on: connection, logger: logger, upTo: 3)
        // A file from before the cursor: rows 1–2 published, 3–4 not yet.
        for id in 1...4 {
            try connection.execute(
                "INSERT INTO outbox (id, topic, partition_key, kind, payload, created_at, published_at) VALUES (?, 't', 'k', 'x', '{}', 0, ?)",
                [.int(id), id <= 2 ? .int(1) : .null])
        }
        try Migrations.apply(on: connection, logger: logger)
        #expect(try connection.query("SELECT last_id FROM outbox_relay").first?.int64("last_id") == 2)
        let pending = try SQLiteOutboxReader.unpublished(limit: 10, on: connection)
        #expect(pending.map(\.id) == [3, 4])
    }
}
