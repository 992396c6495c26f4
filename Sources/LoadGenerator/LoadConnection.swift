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

    init(index: Int, chatID: String, members: Int, ledger: DeliveryLedger) {
        self.index = index
        self.chatID = chatID
        self.members = members
        self.ledger = ledger
    }

    var isReady: Bool { readyFlag.load(ordering: .acquiring) }
    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }
    var ackCount: Int { acks.load(ordering: .relaxed) }

    /// Connects and reads until the socket closes or the task is cancelled.
    func run(url: String, token: String) async {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        let logger = Logger(label: "chatter-load", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), logger: logger
            ) { inbound, outbound, _ in
                self.outbound.withLock { $0 = outbound }
                let decoder = JSONDecoder()
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    if let fields = FrameScanner.scan(text) {
                        self.handle(Incoming(fields))
                    } else if let frame = try? decoder.decode(Incoming.self, from: Data(text.utf8)) {
                        self.handle(frame)
                    }
                }
            }
        } catch {}
        closedFlag.store(true, ordering: .releasing)
        changed.notify()
    }

    private func handle(_ frame: Incoming) {
        switch frame.type {
        case "ready":
            readyFlag.store(true, ordering: .releasing)
        case "ack":
            if let message = frame.message { ledger.recordAck(chatID: message.chatID, seq: message.seq, members: members) }
            acks.wrappingAdd(1, ordering: .relaxed)
        case "error":
            ledger.recordSendError()
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

    func send(body: String, clientMsgID: String) async {
        guard let outbound = outbound.withLock({ $0 }) else { return }
        let frame = #"{"type":"send","chat_id":""# + chatID + #"","body":""# + body + #"","client_msg_id":""# + clientMsgID + #""}"#
        ledger.recordSend(clientMsgID: clientMsgID, at: .now)
        do { try await outbound.write(.text(frame)) } catch { ledger.recordSendError() }
    }

    func close() async {
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
