import ChatterCore
import Synchronization

/// Chat id → member ids, for fan-out. Filled on demand from the chat role and kept current from
/// the `chat.*` and `member.*` events the dispatcher sees, which carry the whole member list.
final class MembersCache: Sendable {
    private let lookup: any ChatMembersLookup
    private let entries = Mutex<[String: [String]]>([:])
    private let capacity: Int

    init(lookup: any ChatMembersLookup, capacity: Int = 100_000) {
        self.lookup = lookup
        self.capacity = capacity
    }

    func members(of chatID: String) async throws -> [String] {
        if let cached = entries.withLock({ $0[chatID] }) { return cached }
        let members = try await lookup.memberIDs(chatID: chatID)
        store(chatID, members)
        return members
    }

    func store(_ chatID: String, _ members: [String]) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[chatID] == nil, let victim = entries.keys.first {
                entries[victim] = nil
            }
            entries[chatID] = members
        }
    }
}
