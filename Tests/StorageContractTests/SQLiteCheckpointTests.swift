import ChatterCore
import Foundation
import Logging
import Testing

@testable import SQLiteStorage

/// The embedded store checkpoints its WAL from a connection of its own, so the writer's commits
/// seldom copy the WAL into the database file themselves.
@Suite struct SQLiteCheckpointTests {
    let logger = Logger(label: "wal", factory: { _ in SwiftLogNoOpLogHandler() })

    func temporaryPath() throws -> (directory: String, path: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-wal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory, directory + "/chatter.sqlite")
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// A few dozen sends: their pages stay in the WAL, below the writer's own threshold.
    func send(_ count: Int, to messages: SQLiteMessageRepository, from start: Int = 0) async throws {
        for index in start..<start + count {
            _ = try await messages.append(NewMessage(id: Identifier.make(), chatID: "c\(index % 3)", senderID: "u",
                                                     body: "message \(index)", clientMsgID: "k\(index)"))
        }
    }

    @Test func aCheckpointCopiesTheWALAndTheNextWriteStartsItOver() async throws {
        let (directory, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(path: path, logger: logger)
        let messages = SQLiteMessageRepository(store: store)
        try await send(60, to: messages)
        let before = fileSize(path)
        let result = await store.checkpoint()
        let grown = fileSize(path)
        // One more write: it finds the WAL fully copied and starts it over.
        try await send(1, to: messages, from: 60)
        let next = await store.checkpoint()
        let lastSeq = try await messages.lastSeq(chatID: "c0")
        await store.close()
        let checkpoint = try #require(result)
        #expect(checkpoint.walFrames > 0)
        #expect(checkpoint.checkpointed == checkpoint.walFrames, "with no reader in the way everything is copied")
        #expect(grown > before, "the pages moved into the database file")
        #expect(try #require(next).walFrames < checkpoint.walFrames / 4, "the WAL started over")
        #expect(lastSeq == 21)
    }

    @Test func aRunningStoreCheckpointsByItself() async throws {
        let (directory, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(path: path, logger: logger)
        let running = Task { try await store.run() }
        let messages = SQLiteMessageRepository(store: store)
        let before = fileSize(path)
        try await send(60, to: messages)
        // No explicit checkpoint: the store's own loop copies the WAL into the file, however
        // long that takes on a busy machine (a minute at most, then the test fails).
        let deadline = ContinuousClock.now + .seconds(60)
        while fileSize(path) <= before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let grew = fileSize(path) > before
        running.cancel()  // ends the loop; `run()` then closes the store
        _ = await running.result
        #expect(grew)
    }
}
