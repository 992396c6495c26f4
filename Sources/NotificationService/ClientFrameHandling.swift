import ChatterCore
import ChatterHTTP
import Foundation
import Logging
import MessagingService
import NIOCore
import Telemetry
import Tracing

extension NotificationService {
    static let invalidFrame = ChatterError.Code("invalid_frame", status: 400)
    /// Most chats one `sync` frame may name.
    static let maxSyncChats = 1000

    /// Answers one client frame. Frames of a connection are handled in order.
    func handle(_ text: String, on connection: Connection) async {
        let frame: ClientFrame
        do {
            frame = try JSONDecoder().decode(ClientFrame.self, from: Data(text.utf8))
        } catch {
            connection.releaseHold()
            connection.send(ServerFrame.error(ChatterError(Self.invalidFrame, "frame is not a valid JSON object with a type")))
            return
        }
        // The first frame ends a fresh connection's hold-back; a sync does so itself, naming its chats.
        if frame.type != "sync" { connection.releaseHold() }
        switch frame.type {
        case "ping":
            connection.send(ServerFrame.pong)
        case "send":
            await send(frame, on: connection)
        case "typing":
            await typing(frame, on: connection)
        case "sync":
            await sync(frame, on: connection)
        case "auth":
            connection.send(ServerFrame.error(ChatterError(Self.invalidFrame, "already authenticated")))
        default:
            connection.send(ServerFrame.error(ChatterError(Self.invalidFrame, "unknown frame type")))
        }
    }

    private func send(_ frame: ClientFrame, on connection: Connection) async {
        guard let chatID = frame.chatID, let body = frame.body, let clientMsgID = frame.clientMsgID else {
            connection.send(ServerFrame.error(
                ChatterError(Self.invalidFrame, "send needs chat_id, body and client_msg_id"), clientMsgID: frame.clientMsgID))
            return
        }
        let started = ContinuousClock.now
        defer { metrics.webSocketSendFinished(after: .now - started) }
        // Each send frame starts a trace of its own, as an HTTP send does: commit, relay, fan-out.
        await withSpan("websocket send", context: .topLevel, ofKind: .server) { span in
            span.attributes["chatter.transport"] = "websocket"
            do {
                let result = try await messaging.send(chatID: chatID, senderID: connection.userID, body: body, clientMsgID: clientMsgID)
                if result.created { metrics.messageSent(transport: "websocket") }
                connection.send(ServerFrame.ack(clientMsgID: clientMsgID, message: result.message))
            } catch {
                let failure = ChatterError.fromAny(error)
                if failure.code.status >= 500 { span.setStatus(SpanStatus(code: .error)) }
                connection.send(ServerFrame.error(failure, clientMsgID: clientMsgID))
            }
        }
    }

    private func typing(_ frame: ClientFrame, on connection: Connection) async {
        guard let chatID = frame.chatID else {
            connection.send(ServerFrame.error(ChatterError(Self.invalidFrame, "typing needs chat_id")))
            return
        }
        guard connection.allowTyping(chatID: chatID, interval: configuration.typingInterval),
              let memberIDs = try? await members.members(of: chatID), memberIDs.contains(connection.userID),
              await claimTyping(userID: connection.userID, chatID: chatID)
        else { return }
        let text = ServerFrame.typing(chatID: chatID, userID: connection.userID)
        let typingFrame = ByteBuffer(string: text)
        for other in registry.connections(of: memberIDs) where other.userID != connection.userID {
            other.send(typingFrame)
        }
        await shared?.publish(text, to: memberIDs.filter { $0 != connection.userID }, logger: logger)
    }

    /// With several processes, one typing broadcast per user and chat per interval, whichever
    /// device or process it comes from (Redis); alone, the per-connection throttle above is it.
    /// When Redis cannot answer, typing goes through: it is ephemeral and already throttled
    /// per connection.
    private func claimTyping(userID: String, chatID: String) async -> Bool {
        guard let shared else { return true }
        do {
            return try await shared.directory.claimTyping(userID: userID, chatID: chatID, interval: configuration.typingInterval)
        } catch {
            logger.debug("typing throttle unavailable", metadata: [LoggingKeys.errorDetail: "\(error)"])
            return true
        }
    }

    /// Replays every message after `since` per chat from the store, then lets live events
    /// through; the connection drops whatever the replay already sent.
    private func sync(_ frame: ClientFrame, on connection: Connection) async {
        guard let since = frame.since, since.count <= Self.maxSyncChats, since.values.allSatisfy({ $0 >= 0 }) else {
            connection.releaseHold()
            connection.send(ServerFrame.error(ChatterError(Self.invalidFrame, "sync needs since: {chat_id: seq ≥ 0}, at most 1000 chats")))
            return
        }
        connection.releaseHold(syncing: Set(since.keys))
        var synced: [String: Int64] = [:]
        for (chatID, seenSeq) in since.sorted(by: { $0.key < $1.key }) {
            connection.beginSync(chatID: chatID)
            var after = seenSeq
            var isMember = true
            do {
                while true {
                    let page = try await messaging.history(
                        chatID: chatID, userID: connection.userID, query: HistoryQuery(afterSeq: after, limit: 200))
                    for message in page.messages {
                        connection.replay(chatID: chatID, seq: message.seq, frame: ByteBuffer(string: ServerFrame.messageEvent(message)))
                        after = message.seq
                    }
                    if !page.hasMore || page.messages.isEmpty { break }
                }
            } catch {
                isMember = false
            }
            let last = connection.endSync(chatID: chatID)
            if isMember { synced[chatID] = last }
        }
        connection.send(ServerFrame.synced(synced))
    }
}
