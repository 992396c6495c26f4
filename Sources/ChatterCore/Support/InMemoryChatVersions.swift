import Synchronization

/// The chat versions of a single process that is the only writer of its store (the embedded
/// SQLite server). A forgotten chat gets a fresh token on its next use, so the table can be
/// dropped whenever it grows past `capacity`.
public final class InMemoryChatVersions: ChatVersions {
    private struct State {
        var tokens: [String: UInt64] = [:]
        var next: UInt64 = 1
    }

    private let state = Mutex(State())
    private let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    public func current(chatID: String) async throws -> String {
        state.withLock { state in
            if let token = state.tokens[chatID] { return String(token) }
            return String(Self.issue(chatID, in: &state, capacity: capacity))
        }
    }

    public func bump(chatIDs: [String]) async throws {
        state.withLock { state in
            for chatID in chatIDs { _ = Self.issue(chatID, in: &state, capacity: capacity) }
        }
    }

    private static func issue(_ chatID: String, in state: inout State, capacity: Int) -> UInt64 {
        if state.tokens.count >= capacity, state.tokens[chatID] == nil { state.tokens.removeAll(keepingCapacity: true) }
        let token = state.next
        state.next += 1
        state.tokens[chatID] = token
        return token
    }
}
