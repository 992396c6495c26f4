import ChatterCore
import Synchronization

/// Memberships recently read from the store, so a send does not read it every time.
///
/// The chat role invalidates a chat after every membership change it makes, before it answers,
/// so within one process no send passes on a membership that is gone. A per-chat version
/// guards the race where a read that started before a change would store its stale answer
/// after the invalidation. Only confirmed memberships are kept: a newly added member is found
/// in the store at once. Bounded: past `capacity` chats it starts over.
public final class MembershipCache: Sendable {
    private struct State {
        var entries: [String: [String: Membership]] = [:]
        var versions: [String: UInt64] = [:]
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 50_000) {
        self.capacity = max(1, capacity)
    }

    /// The cached membership (if any) and the chat's version to pass back to `store`.
    func lookup(chatID: String, userID: String) -> (membership: Membership?, version: UInt64) {
        state.withLock { ($0.entries[chatID]?[userID], $0.versions[chatID] ?? 0) }
    }

    /// Keeps `membership` unless the chat changed since `version` was read.
    func store(_ membership: Membership, chatID: String, userID: String, version: UInt64) {
        state.withLock { state in
            guard (state.versions[chatID] ?? 0) == version else { return }
            if state.entries[chatID] == nil, state.entries.count >= capacity {
                state.entries.removeAll(keepingCapacity: true)
            }
            state.entries[chatID, default: [:]][userID] = membership
        }
    }

    public func invalidate(chatID: String) {
        state.withLock { state in
            state.entries[chatID] = nil
            state.versions[chatID, default: 0] &+= 1
        }
    }

    /// Forgets every chat (when changes made elsewhere can no longer be followed).
    public func invalidateAll() {
        state.withLock { state in
            for chatID in state.entries.keys { state.versions[chatID, default: 0] &+= 1 }
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
