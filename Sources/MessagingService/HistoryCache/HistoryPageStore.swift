import ChatterCore
import Synchronization

/// The newest page of recently read chats, each kept with the chat version it was read under
/// and bounded by a byte budget; the least recently used pages go first.
///
/// One page per chat: clients ask for the newest page with the same `limit` (the web client
/// uses the default), so keying by limit as well would only keep copies.
final class HistoryPageStore: Sendable {
    private struct Entry {
        var version: String
        var limit: Int
        var page: MessagePageJSON
        var lastUse: UInt64
        var bytes: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    let budget: Int

    /// `budget` bytes of pages at most (a page's bytes plus a little per entry).
    init(budget: Int) {
        self.budget = budget
    }

    /// The page stored for the chat if it was read under `version` with `limit`.
    func page(chatID: String, version: String, limit: Int) -> MessagePageJSON? {
        state.withLock { state in
            guard var entry = state.entries[chatID], entry.version == version, entry.limit == limit else { return nil }
            state.clock &+= 1
            entry.lastUse = state.clock
            let page = entry.page
            state.entries[chatID] = entry
            return page
        }
    }

    func store(chatID: String, version: String, limit: Int, page: MessagePageJSON) {
        let bytes = page.messages.count + chatID.utf8.count + version.utf8.count + 96
        guard bytes <= budget / 2 else { return }  // one page may not crowd out the rest
        state.withLock { state in
            state.clock &+= 1
            if let old = state.entries.updateValue(
                Entry(version: version, limit: limit, page: page, lastUse: state.clock, bytes: bytes), forKey: chatID) {
                state.bytes -= old.bytes
            }
            state.bytes += bytes
            if state.bytes > budget { Self.evict(&state, downTo: budget * 3 / 4) }
        }
    }

    var storedBytes: Int { state.withLock { $0.bytes } }

    /// Drops the least recently used pages in one pass, so the sort is paid once per quarter of
    /// the budget rather than on every store.
    private static func evict(_ state: inout State, downTo target: Int) {
        for (chatID, entry) in state.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
            guard state.bytes > target else { break }
            state.entries[chatID] = nil
            state.bytes -= entry.bytes
        }
    }
}
