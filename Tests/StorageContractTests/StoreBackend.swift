import ChatterCore
import Foundation
import Logging
import PostgresStorage
import SQLiteStorage
import Testing

/// One set of repositories under test, plus what the contract needs to look behind them.
struct StoreUnderTest: Sendable {
    var users: any UserRepository
    var sessions: any SessionRepository
    var chats: any ChatRepository
    var messages: any MessageRepository
    /// Unpublished outbox events, oldest first.
    var outbox: @Sendable () async throws -> [ChatEvent]
    var close: @Sendable () async -> Void
}

/// A backend the contract suite runs against. Every adapter of the ports joins `all`; ones that
/// need a server join when the test script has started it and exported its address.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    var name: String
    var make: @Sendable () async throws -> StoreUnderTest

    var testDescription: String { name }

    static let sqlite = StoreBackend(name: "sqlite") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-contract-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try await SQLiteStore.open(path: directory + "/chatter.sqlite", logger: Logger(label: "contract", factory: { _ in SwiftLogNoOpLogHandler() }))
        return StoreUnderTest(
            users: SQLiteUserRepository(store: store), sessions: SQLiteSessionRepository(store: store),
            chats: SQLiteChatRepository(store: store), messages: SQLiteMessageRepository(store: store),
            outbox: {
                try await SQLiteOutboxReader(store: store).unpublished(limit: 100_000).map {
                    try JSONDecoder().decode(ChatEvent.self, from: Data($0.payload.utf8))
                }
            },
            close: {
                await store.close()
                try? FileManager.default.removeItem(atPath: directory)
            })
    }

    /// PostgreSQL, when `CHATTER_TEST_DATABASE_URL` names a server (the test script starts
    /// one). Each test gets a database of its own, dropped afterwards. With
    /// `CHATTER_REQUIRE_SERVICES=1` and no URL the backend is still listed, and fails.
    static let postgres = StoreBackend(name: "postgres") {
        let database = try await PostgresTestDatabase.create()
        let store = database.store
        return StoreUnderTest(
            users: PostgresUserRepository(store: store), sessions: PostgresSessionRepository(store: store),
            chats: PostgresChatRepository(store: store), messages: PostgresMessageRepository(store: store),
            outbox: {
                try await PostgresOutboxReader(store: store).unpublished(limit: 100_000).map {
                    try JSONDecoder().decode(ChatEvent.self, from: Data($0.payload.utf8))
                }
            },
            close: { await database.drop() })
    }

    static let all: [StoreBackend] = PostgresTestDatabase.enabled ? [.sqlite, .postgres] : [.sqlite]
}

/// Runs `body` against a fresh store and always closes it.
func withStore(_ backend: StoreBackend, _ body: (StoreUnderTest) async throws -> Void) async throws {
    try await using(try await backend.make(), body, cleanup: { await $0.close() })
}

/// Runs `body` with `resource`, then `cleanup`, also when `body` throws.
func using<Resource>(_ resource: Resource, _ body: (Resource) async throws -> Void,
                     cleanup: (Resource) async -> Void) async throws {
    do {
        try await body(resource)
    } catch {
        await cleanup(resource)
        throw error
    }
    await cleanup(resource)
}

func makeUser(_ name: String, at time: Timestamp = .now()) -> User {
    User(id: Identifier.make(at: time), username: name, displayName: name.capitalized, createdAt: time)
}

func makeGroup(owner: String, members: [String] = [], title: String = "Team") -> ChatRecord {
    let now = Timestamp.now()
    return ChatRecord(
        id: Identifier.make(at: now), type: .group, title: title, createdBy: owner, createdAt: now,
        members: [Member(userID: owner, role: .owner, joinedAt: now)] + members.map { Member(userID: $0, role: .member, joinedAt: now) })
}
