import ChatterCore

/// A position in a chat list ordered by activity, newest first. Opaque to clients: base64url
/// of `<activity ms>:<chat id>`.
struct ChatCursor: Comparable, Sendable {
    var activity: Timestamp
    var chatID: String

    init(activity: Timestamp, chatID: String) {
        self.activity = activity
        self.chatID = chatID
    }

    init(encoded: String) throws {
        let invalid = ChatterError.invalidRequest("cursor is invalid")
        guard encoded.utf8.count <= 256, let bytes = Base64URL.decode(encoded) else { throw invalid }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":"), let millis = Int64(text[..<colon]) else { throw invalid }
        activity = Timestamp(millisecondsSinceEpoch: millis)
        chatID = String(text[text.index(after: colon)...])
    }

    var encoded: String {
        Base64URL.encode(Array("\(activity.millisecondsSinceEpoch):\(chatID)".utf8))
    }

    static func < (lhs: ChatCursor, rhs: ChatCursor) -> Bool {
        (lhs.activity, lhs.chatID) < (rhs.activity, rhs.chatID)
    }
}
