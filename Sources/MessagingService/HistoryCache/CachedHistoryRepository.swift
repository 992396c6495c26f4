import ChatterCore

/// A `MessageRepository` that answers the newest page of a chat's history from memory while
/// the chat's version says nothing has changed since the page was read.
///
/// Why it is exact, with any number of messaging instances: every change here replaces the
/// chat's version after the store committed it and before the caller gets its answer, and a
/// page is stored under the version read *before* the page itself was read. So a cached page
/// is served only while no change has been acknowledged since it was read; the first read
/// after one misses and reads the store. If the version cannot be replaced (Redis down) the
/// change fails with 503 although it is committed: the client's retry finds it (the same
/// `client_msg_id`), replaces the version, and only then acknowledges it.
///
/// Only the newest page (no `before_seq`, no `after_seq`) is cached: that is what opening a chat
/// asks for, and a catch-up from a seq reads the store.
public struct CachedHistoryRepository: MessageRepository {
    let inner: any MessageRepository
    let versions: any ChatVersions
    let pages: HistoryPageStore
    let bumps: VersionBumps
    let observe: @Sendable (HistoryCacheRead) -> Void

    /// How a page read went, for the metrics.
    public enum HistoryCacheRead: String, Sendable {
        /// Served from memory.
        case hit
        /// Read from the store, then kept.
        case miss
        /// A page from a seq, or no version to check against: read from the store, not kept.
        case uncached
    }

    /// `budgetBytes` bounds the pages held (`CHATTER_HISTORY_CACHE_BYTES`); `observe` hears how
    /// each page read went.
    public init(_ inner: any MessageRepository, versions: any ChatVersions, budgetBytes: Int,
                observe: @escaping @Sendable (HistoryCacheRead) -> Void = { _ in }) {
        self.inner = inner
        self.versions = versions
        self.pages = HistoryPageStore(budget: budgetBytes)
        self.bumps = VersionBumps(versions)
        self.observe = observe
    }

    /// Bytes of pages held now.
    public var storedBytes: Int { pages.storedBytes }

    public func historyJSON(chatID: String, query: HistoryQuery) async throws -> MessagePageJSON {
        guard query.beforeSeq == nil, query.afterSeq == nil,
              let version = try? await versions.current(chatID: chatID)
        else {
            // A page from a seq, or no version to check a page against: the store answers.
            observe(.uncached)
            return try await inner.historyJSON(chatID: chatID, query: query)
        }
        if let page = pages.page(chatID: chatID, version: version, limit: query.limit) {
            observe(.hit)
            return page
        }
        observe(.miss)
        let page = try await inner.historyJSON(chatID: chatID, query: query)
        pages.store(chatID: chatID, version: version, limit: query.limit, page: page)
        return page
    }

    public func append(_ message: NewMessage) async throws -> AppendResult {
        // A retry (`created` false) replaces the version too: its first attempt may have
        // committed and then failed to.
        try await changing(message.chatID) { try await inner.append(message) }
    }

    public func edit(chatID: String, id: String, body: String, at: Timestamp) async throws -> Message? {
        try await changing(chatID) { try await inner.edit(chatID: chatID, id: id, body: body, at: at) }
    }

    public func delete(chatID: String, id: String, at: Timestamp) async throws -> Message? {
        try await changing(chatID) { try await inner.delete(chatID: chatID, id: id, at: at) }
    }

    /// Runs a change, then replaces the chat's version before the answer leaves. A change that
    /// failed may still have committed (the answer was lost, not the write), so the version is
    /// replaced then too, as far as it can be.
    private func changing<T>(_ chatID: String, _ change: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await change()
        } catch {
            try? await bumps.bump(chatID)
            throw error
        }
        try await bumps.bump(chatID)
        return result
    }

    public func message(chatID: String, id: String) async throws -> Message? {
        try await inner.message(chatID: chatID, id: id)
    }

    public func history(chatID: String, query: HistoryQuery) async throws -> MessagePage {
        try await inner.history(chatID: chatID, query: query)
    }

    public func markRead(chatID: String, userID: String, seq: Int64, at: Timestamp) async throws -> Int64 {
        try await inner.markRead(chatID: chatID, userID: userID, seq: seq, at: at)
    }

    public func lastSeq(chatID: String) async throws -> Int64 {
        try await inner.lastSeq(chatID: chatID)
    }

    public func summaries(chatIDs: [String], userID: String) async throws -> [String: ChatSummary] {
        try await inner.summaries(chatIDs: chatIDs, userID: userID)
    }
}
