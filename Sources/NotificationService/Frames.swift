import ChatterCore
import Foundation

/// A frame from the client. One flat shape covers every `type`; which fields matter depends on it.
struct ClientFrame: Decodable {
    var type: String
    var token: String?
    var chatID: String?
    var body: String?
    var clientMsgID: String?
    var since: [String: Int64]?

    enum CodingKeys: String, CodingKey {
        case type, token, body, since
        case chatID = "chat_id"
        case clientMsgID = "client_msg_id"
    }
}

/// Close codes of `/v1/ws` beyond the standard ones (documented in docs/realtime.md).
enum CloseCode {
    static let authenticationFailed: UInt16 = 4001
    static let sessionRevoked: UInt16 = 4003
    static let tooSlow: UInt16 = 4008
    /// Standard 1013: a dependency needed to check the token is down; reconnect later.
    static let tryAgainLater: UInt16 = 1013
}

/// Server frames. Events are wrapped around the stored event JSON as text, so an event is
/// encoded once however many connections receive it.
enum ServerFrame {
    static let pong = #"{"type":"pong"}"#

    static func event(payload: String) -> String {
        #"{"type":"event","event":"# + payload + "}"
    }

    static func ready(userID: String, sessionID: String) -> String {
        encode(["type": "ready", "user_id": userID, "session_id": sessionID])
    }

    static func ack(clientMsgID: String, message: Message) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("type", "ack")
        writer.field("client_msg_id", clientMsgID)
        writer.key("message")
        message.write(to: &writer)
        writer.endObject()
        return writer.text
    }

    static func error(_ error: ChatterError, clientMsgID: String? = nil) -> String {
        struct Failure: Encodable {
            var type = "error"
            var clientMsgID: String?
            var error: [String: String]
            enum CodingKeys: String, CodingKey {
                case type, error
                case clientMsgID = "client_msg_id"
            }
        }
        return encode(Failure(clientMsgID: clientMsgID, error: ["code": error.code.rawValue, "message": error.message]))
    }

    static func synced(_ chats: [String: Int64]) -> String {
        struct Synced: Encodable {
            var type = "synced"
            var chats: [String: Int64]
        }
        return encode(Synced(chats: chats))
    }

    static func messageEvent(_ message: Message, kind: ChatEvent.Kind = .messageCreated) -> String {
        let event = ChatEvent(kind: kind, chatID: message.chatID, occurredAt: message.createdAt, message: message)
        return Self.event(payload: (try? event.encodedJSON()) ?? encode(event))
    }

    static func typing(chatID: String, userID: String) -> String {
        event(payload: encode(["kind": "typing", "chat_id": chatID, "user_id": userID]))
    }

    static func presence(userID: String, online: Bool) -> String {
        event(payload: encode(["kind": "presence", "user_id": userID, "status": online ? "online" : "offline"]))
    }

    /// The user and status of a presence frame (from `presence(userID:online:)`); nil for any
    /// other frame. Presence from other processes arrives as frame text.
    static func presenceChange(in frame: String) -> (userID: String, online: Bool)? {
        struct Envelope: Decodable {
            struct Event: Decodable {
                var kind: String
                var userID: String?
                var status: String?
                enum CodingKeys: String, CodingKey {
                    case kind, status
                    case userID = "user_id"
                }
            }
            var event: Event?
        }
        guard frame.contains("\"presence\""),
              let event = try? JSONDecoder().decode(Envelope.self, from: Data(frame.utf8)).event, event.kind == "presence",
              let userID = event.userID, let status = event.status
        else { return nil }
        return (userID, status == "online")
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
