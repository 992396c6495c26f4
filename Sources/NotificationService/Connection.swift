import ChatterCore
import NIOCore
import Synchronization

/// One authenticated WebSocket and what it has been sent.
///
/// `deliver` is called by the dispatcher for live events and `replay` by the connection's own
/// sync; both go through one lock and one record of what was sent, so per chat every
/// `message.created` reaches the socket once, and in `seq` order from the moment the client
/// synced, however catch-up and live traffic interleave.
final class Connection: Sendable {
    struct CloseRequest: Sendable {
        var code: UInt16
        var reason: String
    }

    private struct State {
        /// Per chat, the `message.created` seqs already queued.
        var delivered: [String: SeqRuns] = [:]
        /// Chats being replayed by `sync`: live message events wait here meanwhile.
        var syncing: [String: [(seq: Int64, frame: ByteBuffer)]] = [:]
        /// A fresh connection's live message events, per chat, until the client's first frame
        /// (or the sync window) — nil once released. See `releaseHold`.
        var holding: [String: [(seq: Int64, frame: ByteBuffer)]]?
        var heldCount = 0
        var close: CloseRequest?
        var lastTyping: [String: ContinuousClock.Instant] = [:]
        /// Contacts this connection was last told are online.
        var toldOnline: Set<String> = []

        /// Records `seq` as sent unless it already was; true when the frame should go out.
        mutating func claim(chatID: String, seq: Int64) -> Bool {
            delivered[chatID, default: SeqRuns()].insert(seq)
        }
    }

    let id: String
    let userID: String
    let sessionID: String
    /// Messages committed before this moment were missed while offline: the client gets them
    /// with `sync`, in order, instead of live ahead of older ones.
    let openedAt: Timestamp
    /// Whether this connection holds live events for the client's first frame (see
    /// `releaseHold`); the `openedAt` cut-off only applies without it.
    let holdsLive: Bool
    let writer: FrameWriter
    let output: any FrameOutput
    let activity: SocketActivity
    /// Sends the close frame (after what is queued, unless dropped) and drops the TCP
    /// connection if the client does not follow; nil in tests.
    private let onClose: (@Sendable (Connection, CloseRequest) -> Void)?
    private let state = Mutex(State())

    /// Live events buffered per syncing chat before the connection counts as too slow.
    static let maxBufferedWhileSyncing = 4096

    /// `holdLive`: hold live message events until the client's first frame or `releaseHold`
    /// (see there); off in unit tests that do not exercise it.
    init(userID: String, sessionID: String, output: any FrameOutput, queueCapacity: Int, activity: SocketActivity = SocketActivity(),
         holdLive: Bool = false, onClose: (@Sendable (Connection, CloseRequest) -> Void)? = nil) {
        self.output = output
        self.activity = activity
        id = Identifier.make()
        self.userID = userID
        self.sessionID = sessionID
        openedAt = .now()
        writer = FrameWriter(output: output, capacity: queueCapacity)
        self.onClose = onClose
        holdsLive = holdLive
        if holdLive { state.withLock { $0.holding = [:] } }
    }

    var closeRequest: CloseRequest? { state.withLock { $0.close } }

    /// Queues a frame that is not subject to per-chat ordering (acks, errors, typing, presence).
    func send(_ frame: String) {
        send(ByteBuffer(string: frame))
    }

    func send(_ frame: ByteBuffer) {
        if !writer.push(frame) { tooSlow() }
    }

    /// Queues a live event. `seq` is set for `message.created`, which is sent once per seq and
    /// only when committed while this connection was open (`occurredAt`).
    /// True when the frame was queued on this socket (false when it was held back, already
    /// sent, or the socket is being cut off as too slow).
    @discardableResult
    func deliver(chatID: String, seq: Int64?, occurredAt: Timestamp? = nil, frame: ByteBuffer, batch: FlushBatch? = nil) -> Bool {
        let outcome = state.withLock { state -> (accepted: Bool, queued: Bool) in
            guard let seq else {
                let pushed = writer.push(frame, batch: batch)
                return (pushed, pushed)
            }
            // Without the hold-back, messages from before the socket opened are left to `sync`.
            // With it they are held like the rest: a message's time is taken when its
            // transaction starts, so one stamped before the socket opened can commit after the
            // sync's history read — dropping it here would lose it for this connection.
            if !holdsLive, let occurredAt, occurredAt < openedAt { return (true, false) }
            if state.holding != nil {
                guard state.heldCount < Self.maxBufferedWhileSyncing else { return (false, false) }
                state.holding![chatID, default: []].append((seq, frame))
                state.heldCount += 1
                return (true, false)
            }
            if state.syncing[chatID] != nil {
                guard state.syncing[chatID]!.count < Self.maxBufferedWhileSyncing else { return (false, false) }
                state.syncing[chatID]!.append((seq, frame))
                return (true, false)
            }
            guard state.claim(chatID: chatID, seq: seq) else { return (true, false) }
            let pushed = writer.push(frame, batch: batch)
            return (pushed, pushed)
        }
        if !outcome.accepted { tooSlow() }
        return outcome.queued
    }

    /// Ends the hold-back of a fresh connection. A client that reconnects sends `sync` first;
    /// messages committed between the socket opening and that frame would otherwise reach it
    /// live *before* the older ones the replay brings — out of `seq` order on the connection.
    /// So a new connection holds its live message events until its first frame: for the chats
    /// that frame syncs (`syncing`), they join the replay's buffer and follow it in order; for
    /// every other chat (or when the first frame is not a sync, or the window passes) they go
    /// out now, in `seq` order. Idempotent.
    func releaseHold(syncing chats: Set<String> = []) {
        let accepted = state.withLock { state -> Bool in
            guard let held = state.holding else { return true }
            state.holding = nil
            state.heldCount = 0
            for chatID in chats {
                state.syncing[chatID, default: []] += held[chatID] ?? []
            }
            for (chatID, events) in held where !chats.contains(chatID) {
                for (seq, frame) in events.sorted(by: { $0.seq < $1.seq }) where state.claim(chatID: chatID, seq: seq) {
                    guard writer.push(frame) else { return false }
                }
            }
            return true
        }
        if !accepted { tooSlow() }
    }

    /// Starts replaying `chatID`; live message events for it are held back until `endSync`.
    func beginSync(chatID: String) {
        state.withLock { state in
            state.syncing[chatID] = state.syncing[chatID] ?? []
        }
    }

    /// Queues one replayed message (ascending `seq`) unless this connection already had it.
    func replay(chatID: String, seq: Int64, frame: ByteBuffer) {
        let accepted = state.withLock { state -> Bool in
            state.claim(chatID: chatID, seq: seq) ? writer.push(frame) : true
        }
        if !accepted { tooSlow() }
    }

    /// Ends the replay: live events that arrived meanwhile follow, minus what the replay sent.
    /// Returns the last `seq` now delivered for the chat (0 for none).
    @discardableResult
    func endSync(chatID: String) -> Int64 {
        let (accepted, last) = state.withLock { state -> (Bool, Int64) in
            let buffered = state.syncing.removeValue(forKey: chatID) ?? []
            for (seq, frame) in buffered.sorted(by: { $0.seq < $1.seq }) where state.claim(chatID: chatID, seq: seq) {
                guard writer.push(frame) else { return (false, seq) }
            }
            return (true, state.delivered[chatID]?.highest ?? 0)
        }
        if !accepted { tooSlow() }
        return last
    }

    /// Queues a presence change unless this connection already knows it: "online" once while
    /// the contact stays online, "offline" only after an "online". A user's first socket sends
    /// a snapshot of who is online while contacts' own sockets announce themselves, and the two
    /// can cross (two sockets connecting at once, or processes sharing presence through Redis);
    /// presence is state, so the connection keeps what it told and drops repeats.
    func sendPresence(userID: String, online: Bool, frame: ByteBuffer) {
        let changed = state.withLock { state in
            online ? state.toldOnline.insert(userID).inserted : state.toldOnline.remove(userID) != nil
        }
        if changed { send(frame) }
    }

    /// At most one typing broadcast per chat every `interval` from this connection.
    func allowTyping(chatID: String, interval: Duration) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let last = state.lastTyping[chatID], now - last < interval { return false }
            state.lastTyping[chatID] = now
            return true
        }
    }

    /// Asks the writer to close the socket with `code` after what is queued (or at once,
    /// dropping it, when `dropPending`).
    func requestClose(code: UInt16, reason: String, dropPending: Bool) {
        let request = CloseRequest(code: code, reason: reason)
        let first = state.withLock { state -> Bool in
            guard state.close == nil else { return false }
            state.close = request
            return true
        }
        if first {
            writer.finish(dropPending: dropPending)
            onClose?(self, request)
        }
    }

    private func tooSlow() {
        requestClose(code: CloseCode.tooSlow, reason: "too slow: reconnect and sync", dropPending: true)
    }
}

/// A set of seqs stored as sorted, disjoint runs. Live delivery and replay both fill runs
/// from one end, so a chat almost always needs one run, two while a sync back-fills.
struct SeqRuns: Sendable {
    private(set) var runs: [ClosedRange<Int64>] = []
    /// Beyond this many runs the lowest is forgotten (only possible with pathological gaps).
    static let maxRuns = 64

    var highest: Int64? { runs.last?.upperBound }

    /// Adds `seq`; false when it was already there.
    mutating func insert(_ seq: Int64) -> Bool {
        var index = runs.count
        for (position, run) in runs.enumerated() {
            if run.contains(seq) { return false }
            if seq < run.lowerBound {
                index = position
                break
            }
        }
        let joinsPrevious = index > 0 && runs[index - 1].upperBound + 1 == seq
        let joinsNext = index < runs.count && runs[index].lowerBound - 1 == seq
        switch (joinsPrevious, joinsNext) {
        case (true, true):
            runs[index - 1] = runs[index - 1].lowerBound...runs[index].upperBound
            runs.remove(at: index)
        case (true, false):
            runs[index - 1] = runs[index - 1].lowerBound...seq
        case (false, true):
            runs[index] = seq...runs[index].upperBound
        case (false, false):
            runs.insert(seq...seq, at: index)
            if runs.count > Self.maxRuns { runs.removeFirst() }
        }
        return true
    }
}
