import ChatterCore
import PostgresNIO

/// Writes history rows as the API's message objects straight from their cells' bytes, for
/// `MessagePageJSON`: no `String` per column and no `Message` per row.
///
/// The statement selects the columns in the order of the object's keys (sorted, as
/// `Message.write` writes them), with a tombstone's body already NULL, so a row is one pass
/// over its cells. `chat_id` is the same on every row of a page, so it is not selected: the
/// caller writes it once and each object copies it.
enum MessageRowJSON {
    /// The select list in key order: body, (chat_id), client_msg_id, created_at, deleted,
    /// edited_at, id, sender_id, seq.
    static let columns =
        "CASE WHEN deleted_at IS NULL THEN body END, client_msg_id, created_at, deleted_at IS NOT NULL, edited_at, id, sender_id, seq"

    private static let bodyKey = Array(#""body":"#.utf8)
    private static let chatIDKey = Array(#""chat_id":"#.utf8)
    private static let clientMsgIDKey = Array(#","client_msg_id":"#.utf8)
    private static let createdAtKey = Array(#","created_at":""#.utf8)
    private static let deletedTrue = Array(#"","deleted":true"#.utf8)
    private static let deletedFalse = Array(#"","deleted":false"#.utf8)
    private static let editedAtKey = Array(#","edited_at":""#.utf8)
    private static let idKey = Array(#","id":"#.utf8)
    private static let senderIDKey = Array(#","sender_id":"#.utf8)
    private static let seqKey = Array(#","seq":"#.utf8)

    /// Appends one row's object; `quotedChatID` is the chat id already written as a JSON string.
    static func append(_ row: PostgresRow, quotedChatID: [UInt8], to bytes: inout [UInt8]) throws {
        var cells = ColumnReader(row)
        bytes.append(UInt8(ascii: "{"))
        let bodyStart = bytes.count
        bytes.append(contentsOf: bodyKey)
        if try cells.appendJSONString(to: &bytes) {
            bytes.append(UInt8(ascii: ","))
        } else {
            bytes.removeSubrange(bodyStart...)
        }
        bytes.append(contentsOf: chatIDKey)
        bytes.append(contentsOf: quotedChatID)
        bytes.append(contentsOf: clientMsgIDKey)
        try cells.appendRequiredJSONString(to: &bytes)
        bytes.append(contentsOf: createdAtKey)
        Timestamp(milliseconds: try cells.int64()).appendRFC3339(to: &bytes)
        bytes.append(contentsOf: try cells.bool() ? deletedTrue : deletedFalse)
        if let editedAt = try cells.optionalInt64() {
            bytes.append(contentsOf: editedAtKey)
            Timestamp(milliseconds: editedAt).appendRFC3339(to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(contentsOf: idKey)
        try cells.appendRequiredJSONString(to: &bytes)
        bytes.append(contentsOf: senderIDKey)
        try cells.appendRequiredJSONString(to: &bytes)
        bytes.append(contentsOf: seqKey)
        JSONWriter.appendInt(try cells.int64(), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }
}
