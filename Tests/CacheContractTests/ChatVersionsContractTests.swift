import ChatterCore
import Foundation
import RedisCache
import RedisClient
import Testing

/// Chat versions under test: two handles on the same versions, as two messaging instances
/// would hold (one object for the single-process memory adapter), and a way to lose a chat's
/// token the way its backend can (a Redis key expiring or flushed; the memory table dropped).
struct ChatVersionsBackend: Sendable, CustomTestStringConvertible {
    var name: String
    var run: @Sendable (@Sendable (_ first: any ChatVersions, _ second: any ChatVersions,
                                   _ lose: @escaping @Sendable (String) async throws -> Void) async throws -> Void) async throws -> Void
    var testDescription: String { name }

    static let memory = ChatVersionsBackend(name: "memory") { body in
        let versions = InMemoryChatVersions(capacity: 4)
        try await body(versions, versions) { _ in
            // Filling the table past its capacity with other chats drops what it held.
            for index in 0..<4 { _ = try await versions.current(chatID: "filler-\(UUID().uuidString)-\(index)") }
        }
    }

    static let redis = ChatVersionsBackend(name: "redis") { body in
        try await withTestRedis { client in
            let prefix = "chatter-test:\(UUID().uuidString):"
            try await body(RedisChatVersions(redis: client, prefix: prefix), RedisChatVersions(redis: client, prefix: prefix)) { chatID in
                _ = try await client.delete(prefix + chatID)
            }
        }
    }

    static var all: [ChatVersionsBackend] { RevocationBackend.redisEnabled ? [.memory, .redis] : [.memory] }
}

@Suite struct ChatVersionsContract {
    @Test(arguments: ChatVersionsBackend.all)
    func aTokenHoldsUntilTheChatChanges(_ backend: ChatVersionsBackend) async throws {
        try await backend.run { first, second, _ in
            let before = try await first.current(chatID: "c1")
            #expect(try await first.current(chatID: "c1") == before)
            #expect(try await second.current(chatID: "c1") == before, "every instance reads the same token")
            try await second.bump(chatIDs: ["c1"])
            let after = try await first.current(chatID: "c1")
            #expect(after != before, "a change made by another instance is seen")
            #expect(try await second.current(chatID: "c1") == after)
            #expect(try await first.current(chatID: "c2") != after, "chats have tokens of their own")
        }
    }

    @Test(arguments: ChatVersionsBackend.all)
    func tokensAreNeverHandedOutTwice(_ backend: ChatVersionsBackend) async throws {
        try await backend.run { first, second, _ in
            var seen: Set<String> = []
            for round in 0..<20 {
                try await (round.isMultiple(of: 2) ? first : second).bump(chatIDs: ["c1"])
                let token = try await first.current(chatID: "c1")
                #expect(seen.insert(token).inserted, "token \(token) came back")
            }
        }
    }

    @Test(arguments: ChatVersionsBackend.all)
    func oneCallReplacesEveryChatItNames(_ backend: ChatVersionsBackend) async throws {
        try await backend.run { first, second, _ in
            let chats = ["a", "b", "c", "untouched"]
            var before: [String: String] = [:]
            for chat in chats { before[chat] = try await first.current(chatID: chat) }
            try await first.bump(chatIDs: ["a", "b", "c"])
            for chat in ["a", "b", "c"] {
                #expect(try await second.current(chatID: chat) != before[chat], "\(chat) was replaced")
            }
            #expect(try await second.current(chatID: "untouched") == before["untouched"])
            try await first.bump(chatIDs: [])
        }
    }

    /// A lost token must never come back as one a page may have been stored under.
    @Test(arguments: ChatVersionsBackend.all)
    func aLostTokenIsReplacedByOneNeverSeenBefore(_ backend: ChatVersionsBackend) async throws {
        try await backend.run { first, second, lose in
            let before = try await first.current(chatID: "lost")
            try await lose("lost")
            let after = try await second.current(chatID: "lost")
            #expect(after != before)
            #expect(try await first.current(chatID: "lost") == after, "and the new one holds")
        }
    }

    @Test(arguments: ChatVersionsBackend.all)
    func concurrentFirstReadsAgreeOnOneToken(_ backend: ChatVersionsBackend) async throws {
        try await backend.run { first, second, _ in
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<20 {
                    group.addTask { try await (index.isMultiple(of: 2) ? first : second).current(chatID: "fresh") }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
        }
    }
}
