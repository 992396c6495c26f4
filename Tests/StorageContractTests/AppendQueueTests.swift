import ChatterCore
import Testing

@testable import PostgresStorage

/// The queue in front of the batch committers, without a database.
@Suite struct AppendQueueTests {
    func message(_ sender: String) -> NewMessage {
        NewMessage(id: Identifier.make(), chatID: "a", senderID: sender, body: "hi", clientMsgID: Identifier.make())
    }

    /// While batches are slow (the database is gone and each waits out the acquire timeout), a
    /// send does not wait in the queue longer than that timeout: it gets 503, unwritten.
    @Test func aSendThatWaitedTooLongForItsBatchGets503() async throws {
        let queue = AppendQueue()
        let stale = Task { try await queue.submit(message("u1"), traceparent: nil) }
        while queue.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(300))
        let fresh = Task { try await queue.submit(message("u2"), traceparent: nil) }
        while queue.waiting < 2 { try await Task.sleep(for: .milliseconds(1)) }
        let batch = try #require(await queue.next(limit: 10, maxWait: .milliseconds(200)))
        #expect(batch.map(\.message.senderID) == ["u2"])
        await #expect { try await stale.value } throws: { ($0 as? ChatterError)?.code == .unavailable }
        let stored = Message(id: "m", chatID: "a", seq: 1, senderID: "u2", body: "hi", clientMsgID: "c", createdAt: .now())
        batch[0].reply.resume(returning: AppendResult(message: stored, created: true))
        #expect(try await fresh.value.created)
    }

    @Test func sendsWaitingWhenTheStoreStopsGet503() async throws {
        let queue = AppendQueue()
        let waiting = Task { try await queue.submit(message("u1"), traceparent: nil) }
        while queue.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        queue.close()
        await #expect { try await waiting.value } throws: { ($0 as? ChatterError)?.code == .unavailable }
        await #expect { try await queue.submit(message("u1"), traceparent: nil) } throws: { ($0 as? ChatterError)?.code == .unavailable }
        #expect(await queue.next(limit: 10, maxWait: .seconds(60)) == nil)
    }
}
