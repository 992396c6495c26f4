import ChatterCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// One load-generator WebSocket: sends `send` frames, records acks and deliveries.
final class LoadConnection: Sendable {
    struct Incoming: Decodable {
        struct MessageRef: Decodable {
            var seq: Int64
            var chatID: String
            var clientMsgID: String
            enum CodingKeys: String, CodingKey {
                case seq
                case chatID = "chat_id"
                case clientMsgID = "client_msg_id"
            }
        }
        struct EventRef: Decodable {
            var kind: String
            var message: MessageRef?
        }
        var type: String
        var message: MessageRef?
        var event: EventRef?

        init(_ fields: FrameScanner.Fields) {
            type = fields.type ?? ""
            var message: MessageRef?
            if let seq = fields.seq, let chatID = fields.chatID, let clientMsgID = fields.clientMsgID {
                message = MessageRef(seq: seq, chatID: chatID, clientMsgID: clientMsgID)
            }
            if type == "event" {
                event = EventRef(kind: fields.kind ?? "", message: message)
            } else {
                self.message = message
            }
        }
    }

    let index: Int
    let chatID: String
    let members: Int
    let ledger: DeliveryLedger
    private let outbound = Mutex<WebSocketOutboundWriter?>(nil)
    private let acks = Atomic<Int>(0)
    let changed = ChangeNotifier()
    private let readyFlag = Atomic<Bool>(false)
    private let closedFlag = Atomic<Bool>(false)
    /// Check mode: sends not yet acknowledged, by client_msg_id, with when they last went out.
    private let pending = Mutex<[String: (body: String, sentAt: ContinuousClock.Instant)]>([:])
    private let stopping = Atomic<Bool>(false)

    /// See `LoadConfiguration.check`.
    let check: Bool
    let resendAfter: Duration

    init(index: Int, chatID: String, members: Int, ledger: DeliveryLedger, check: Bool = false, resendAfter: Duration = .seconds(2)) {
        self.check = check
        self.resendAfter = resendAfter
        self.index = index
        self.chatID = chatID
        self.members = members
        self.ledger = ledger
    }

    var isReady: Bool { readyFlag.load(ordering: .acquiring) }
    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }
    var ackCount: Int { acks.load(ordering: .relaxed) }

    /// Connects and reads until the socket closes or the task is cancelled. With `check`, a
    /// socket that closes is opened again (after a short pause, until `stop`), `sync`s from the
    /// last seq this client saw, and sends everything still unacknowledged again.
    func run(url: String, token: String) async {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        let logger = Logger(label: "chatter-load", factory: { _ in SwiftLogNoOpLogHandler() })
        var attempt = 0
        while !Task.isCancelled {
            let reopened = attempt > 0
            do {
                try await WebSocketClient.connect(
                    url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), logger: logger
                ) { inbound, outbound, _ in
                    self.outbound.withLock { $0 = outbound }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        if self.check { group.addTask { try await self.resendLoop(outbound, after: self.resendAfter, catchUp: reopened) } }
                        let decoder = JSONDecoder()
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message else { continue }
                            let frame = FrameScanner.scan(text).map(Incoming.init) ?? (try? decoder.decode(Incoming.self, from: Data(text.utf8)))
                            guard let frame else { continue }
                            // As a client does on connecting: `sync` at once, which also ends the
                            // server's hold on live events for a new socket (its sync window). A
                            // reopened socket in check mode syncs in `resendLoop` instead.
                            if frame.type == "ready" && !(self.check && reopened) {
                                try await outbound.write(.text(self.syncFrame()))
                            }
                            self.handle(frame)
                        }
                        group.cancelAll()
                    }
                }
            } catch {}
            outbound.withLock { $0 = nil }
            guard check, !stopping.load(ordering: .acquiring), !Task.isCancelled else { break }
            attempt += 1
            ledger.recordReconnect()
            try? await Task.sleep(for: .milliseconds(min(1000, 100 * attempt)))
        }
        closedFlag.store(true, ordering: .releasing)
        changed.notify()
    }

    /// Check mode, while a socket is open: first (on a reopened socket) `sync` from the last
    /// seq seen, then every so often send again what is still unacknowledged.
    private func resendLoop(_ outbound: WebSocketOutboundWriter, after: Duration, catchUp: Bool) async throws {
        if catchUp {
            try await outbound.write(.text(syncFrame()))
            let now = ContinuousClock.now
            for (clientMsgID, entry) in pending.withLock({ $0 }) {
                try await write(entry.body, clientMsgID, to: outbound, at: now)
            }
        }
        while true {
            try await Task.sleep(for: .milliseconds(250))
            let now = ContinuousClock.now
            let due = pending.withLock { $0.filter { now - $0.value.sentAt >= after } }
            for (clientMsgID, entry) in due {
                try await write(entry.body, clientMsgID, to: outbound, at: now)
            }
        }
    }

    private func write(_ body: String, _ clientMsgID: String, to outbound: WebSocketOutboundWriter, at now: ContinuousClock.Instant) async throws {
        pending.withLock { if $0[clientMsgID] != nil { $0[clientMsgID]?.sentAt = now } }
        ledger.recordSend(clientMsgID: clientMsgID, at: now)
        try await outbound.write(.text(Self.sendFrame(chatID: chatID, body: body, clientMsgID: clientMsgID)))
    }

    /// `sync` from the last seq this client saw in its chat.
    private func syncFrame() -> String {
        let since = ledger.highest(connection: index, chatID: chatID)
        return #"{"type":"sync","since":{""# + chatID + #"":"# + String(since) + "}}"
    }

    static func sendFrame(chatID: String, body: String, clientMsgID: String) -> String {
        #"{"type":"send","chat_id":""# + chatID + #"","body":""# + body + #"","client_msg_id":""# + clientMsgID + #""}"#
    }

    /// Unacknowledged sends (check mode).
    var pendingCount: Int { pending.withLock { $0.count } }

    private func handle(_ frame: Incoming) {
        switch frame.type {
        case "ready":
            readyFlag.store(true, ordering: .releasing)
        case "ack":
            if let message = frame.message {
                ledger.recordAck(chatID: message.chatID, seq: message.seq, members: members, clientMsgID: message.clientMsgID)
                pending.withLock { _ = $0.removeValue(forKey: message.clientMsgID) }
            }
            acks.wrappingAdd(1, ordering: .relaxed)
        case "error":
            // Check mode: the send stays pending and goes again; otherwise it failed for good.
            if !check { ledger.recordSendError() }
            acks.wrappingAdd(1, ordering: .relaxed)
        case "event":
            if let event = frame.event, event.kind == "message.created", let message = event.message {
                ledger.recordDelivery(
                    connection: index, chatID: message.chatID, seq: message.seq, clientMsgID: message.clientMsgID, at: .now)
            }
        default:
            break
        }
        changed.notify()
    }

    /// Sends a message. In check mode it is remembered until acknowledged, and goes out now only
    /// if the socket is open (otherwise after the reconnect).
    func send(body: String, clientMsgID: String) async {
        let now = ContinuousClock.now
        if check { pending.withLock { $0[clientMsgID] = (body, now) } }
        ledger.recordSend(clientMsgID: clientMsgID, at: now)
        guard let outbound = outbound.withLock({ $0 }) else {
            if !check { ledger.recordSendError() }
            return
        }
        do {
            try await outbound.write(.text(Self.sendFrame(chatID: chatID, body: body, clientMsgID: clientMsgID)))
        } catch {
            if !check { ledger.recordSendError() }
        }
    }

    /// Closes for good: no reconnect after this.
    func close() async {
        stopping.store(true, ordering: .releasing)
        if let outbound = outbound.withLock({ $0 }) { try? await outbound.close(.normalClosure, reason: nil) }
    }

    /// Waits until `condition` holds or `timeout` passes; true when it held.
    func wait(timeout: Duration, until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let seen = changed.generation
            if condition() { return true }
            await changed.wait(since: seen, timeout: .milliseconds(100))
        }
        return condition()
    }
}
