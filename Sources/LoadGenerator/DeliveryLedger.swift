import Histogram
import Synchronization

/// Everything a run sent and received, and the verdicts, after Jepsen's definitions:
///
/// - **duplicate**: a `seq` delivered twice on one connection;
/// - **reorder**: a `seq` lower than one already delivered on that connection;
/// - **unseen**: an acked message not delivered to a member's connection by the end of the
///   drain (counted per connection);
/// - **lost**: an acked message delivered to no connection and absent from the chat's history
///   read back over HTTP at the end — the server forgot something it acknowledged.
final class DeliveryLedger: Sendable {
    struct Totals: Sendable {
        var sent = 0
        var acked = 0
        var sendErrors = 0
        /// Sends sent again (check mode) and sockets reopened after they closed.
        var resent = 0
        var reconnects = 0
        var delivered = 0
        var duplicates = 0
        var reordered = 0
        var expectedDeliveries = 0
    }

    private struct State {
        var totals = Totals()
        /// client_msg_id → send time.
        var sentAt: [String: ContinuousClock.Instant] = [:]
        /// (chat, seq) of every acked message.
        var acked: [String: Set<Int64>] = [:]
        /// connection index → chat → seqs seen, and the highest.
        var seen: [Int: [String: Set<Int64>]] = [:]
        var highest: [Int: [String: Int64]] = [:]
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000)  // µs, up to a minute
        /// Send → ack: the part of a delivery's latency up to the commit (and the ack's way
        /// back), to tell a slow write path from a slow fan-out.
        var ackLatency = Histogram<UInt64>(highestTrackableValue: 60_000_000)
    }

    /// Which latency: send → delivery, or send → ack.
    enum Latency: Sendable {
        case delivery, ack
    }

    private let state = Mutex(State())

    /// A send; the same `client_msg_id` again is a retry and counts once (its latency from the first).
    func recordSend(clientMsgID: String, at time: ContinuousClock.Instant) {
        state.withLock { state in
            guard state.sentAt[clientMsgID] == nil else {
                state.totals.resent += 1
                return
            }
            state.totals.sent += 1
            state.sentAt[clientMsgID] = time
        }
    }

    /// An ack; a retried send's second ack (same seq) counts once, and its latency is timed
    /// from the first send.
    func recordAck(chatID: String, seq: Int64, members: Int, clientMsgID: String? = nil, at time: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.acked[chatID, default: []].insert(seq).inserted else { return }
            state.totals.acked += 1
            state.totals.expectedDeliveries += members
            if let clientMsgID, let sent = state.sentAt[clientMsgID] {
                _ = state.ackLatency.record(Self.microseconds(time - sent))
            }
        }
    }

    func recordReconnect() {
        state.withLock { $0.totals.reconnects += 1 }
    }

    /// The highest seq of `chatID` connection `connection` has received (0 for none).
    func highest(connection: Int, chatID: String) -> Int64 {
        state.withLock { $0.highest[connection]?[chatID] ?? 0 }
    }

    func recordSendError() {
        state.withLock { $0.totals.sendErrors += 1 }
    }

    func recordDelivery(connection: Int, chatID: String, seq: Int64, clientMsgID: String?, at time: ContinuousClock.Instant) {
        state.withLock { state in
            state.totals.delivered += 1
            let (inserted, _) = state.seen[connection, default: [:]][chatID, default: []].insert(seq)
            if !inserted { state.totals.duplicates += 1 }
            let highest = state.highest[connection, default: [:]][chatID] ?? 0
            if seq < highest { state.totals.reordered += 1 } else { state.highest[connection, default: [:]][chatID] = seq }
            if let clientMsgID, let sent = state.sentAt[clientMsgID] {
                _ = state.latency.record(Self.microseconds(time - sent))
            }
        }
    }

    var totals: Totals { state.withLock { $0.totals } }

    /// Acked messages of `chatID` that connection `connection` has not received.
    func missing(connection: Int, chatID: String) -> Int {
        state.withLock { state in
            let acked = state.acked[chatID] ?? []
            let seen = state.seen[connection]?[chatID] ?? []
            return acked.subtracting(seen).count
        }
    }

    /// Acked messages that no connection received, per chat.
    func undelivered() -> [String: Set<Int64>] {
        state.withLock { state in
            var result: [String: Set<Int64>] = [:]
            for (chatID, acked) in state.acked {
                var left = acked
                for (_, chats) in state.seen { if let seen = chats[chatID] { left.subtract(seen) } }
                if !left.isEmpty { result[chatID] = left }
            }
            return result
        }
    }

    /// Latency percentiles in milliseconds.
    func latencyMilliseconds(_ percentiles: [Double], of latency: Latency = .delivery) -> [Double] {
        state.withLock { state in
            let histogram = latency == .delivery ? state.latency : state.ackLatency
            return percentiles.map { Double(histogram.valueAtPercentile($0)) / 1000 }
        }
    }

    func maxLatencyMilliseconds(of latency: Latency = .delivery) -> Double {
        state.withLock { Double((latency == .delivery ? $0.latency : $0.ackLatency).max) / 1000 }
    }

    private static func microseconds(_ elapsed: Duration) -> UInt64 {
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        return UInt64(max(0, micros))
    }
}
