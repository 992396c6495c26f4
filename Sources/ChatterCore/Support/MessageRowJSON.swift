/// A history row's cells, read in the order of `MessageRowJSON.selectList`.
///
/// A store conforms with a cursor over its own row type, so the page's JSON is written from the
/// cells' bytes with no `String` per column and no `Message` per row (`MessagePageJSON`).
public protocol MessageRowCells {
    /// Appends the next cell, a text column, as a JSON string; false (nothing written) when NULL.
    mutating func appendNextString(to bytes: inout [UInt8]) throws -> Bool
    /// The next cell, an integer column; nil when NULL.
    mutating func nextInt64() throws -> Int64?
    /// The next cell, a boolean (or 0/1) column.
    mutating func nextBool() throws -> Bool
}

/// Writes a history row as the API's message object, byte for byte what `Message.write`
/// writes, for every store that can hand over its rows' cells (`MessageRowCells`).
///
/// The select list puts the columns in the order of the object's keys (sorted, as
/// `Message.write` writes them), with a tombstone's body already NULL, so a row is one pass
/// over its cells. `chat_id` is the same on every row of a page, so it is not selected: the
/// caller writes it once and each object copies it.
///
/// Inlinable so that each store's call is specialized for its own cells: called through the
/// protocol's witnesses, a 50-message read on PostgreSQL cost about a tenth more.
public enum MessageRowJSON {
    /// What a store selects from its messages table, in key order: body, (chat_id),
    /// client_msg_id, created_at, deleted, edited_at, id, sender_id, seq.
    public static let selectList =
        "CASE WHEN deleted_at IS NULL THEN body END, client_msg_id, created_at, deleted_at IS NOT NULL, edited_at, id, sender_id, seq"

    @usableFromInline static let bodyKey = Array(#""body":"#.utf8)
    @usableFromInline static let chatIDKey = Array(#""chat_id":"#.utf8)
    @usableFromInline static let clientMsgIDKey = Array(#","client_msg_id":"#.utf8)
    @usableFromInline static let createdAtKey = Array(#","created_at":""#.utf8)
    @usableFromInline static let deletedTrue = Array(#"","deleted":true"#.utf8)
    @usableFromInline static let deletedFalse = Array(#"","deleted":false"#.utf8)
    @usableFromInline static let editedAtKey = Array(#","edited_at":""#.utf8)
    @usableFromInline static let idKey = Array(#","id":"#.utf8)
    @usableFromInline static let senderIDKey = Array(#","sender_id":"#.utf8)
    @usableFromInline static let seqKey = Array(#","seq":"#.utf8)

    /// The chat id as the JSON string every object of the page copies.
    public static func quoted(chatID: String) -> [UInt8] {
        var quoted: [UInt8] = []
        var chatID = chatID
        chatID.withUTF8 { JSONWriter.appendString(UnsafeRawBufferPointer($0), to: &quoted) }
        return quoted
    }

    /// Appends one row's object; `quotedChatID` is `quoted(chatID:)`.
    @inlinable
    public static func append(_ cells: inout some MessageRowCells, quotedChatID: [UInt8], to bytes: inout [UInt8]) throws {
        bytes.append(UInt8(ascii: "{"))
        let bodyStart = bytes.count
        bytes.append(contentsOf: bodyKey)
        if try cells.appendNextString(to: &bytes) {
            bytes.append(UInt8(ascii: ","))
        } else {
            bytes.removeSubrange(bodyStart...)
        }
        bytes.append(contentsOf: chatIDKey)
        bytes.append(contentsOf: quotedChatID)
        bytes.append(contentsOf: clientMsgIDKey)
        try appendRequiredString(&cells, to: &bytes)
        bytes.append(contentsOf: createdAtKey)
        Timestamp(millisecondsSinceEpoch: try requiredInt64(&cells)).appendRFC3339(to: &bytes)
        bytes.append(contentsOf: try cells.nextBool() ? deletedTrue : deletedFalse)
        if let editedAt = try cells.nextInt64() {
            bytes.append(contentsOf: editedAtKey)
            Timestamp(millisecondsSinceEpoch: editedAt).appendRFC3339(to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(contentsOf: idKey)
        try appendRequiredString(&cells, to: &bytes)
        bytes.append(contentsOf: senderIDKey)
        try appendRequiredString(&cells, to: &bytes)
        bytes.append(contentsOf: seqKey)
        JSONWriter.appendInt(try requiredInt64(&cells), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes a page from rows in the statement's order: ascending as they come, or newest first
    /// (a backward page), which the page turns around. `rows` holds at most the page's rows.
    @inlinable
    public static func page<Row>(_ rows: some RandomAccessCollection<Row>, ascending: Bool, chatID: String,
                                 cells: (Row) -> some MessageRowCells) throws -> [UInt8] {
        let quotedChatID = quoted(chatID: chatID)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + 384 * rows.count)
        bytes.append(UInt8(ascii: "["))
        var first = true
        func add(_ row: Row) throws {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            var rowCells = cells(row)
            try append(&rowCells, quotedChatID: quotedChatID, to: &bytes)
        }
        if ascending {
            for row in rows { try add(row) }
        } else {
            for row in rows.reversed() { try add(row) }
        }
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }

    @inlinable
    static func appendRequiredString(_ cells: inout some MessageRowCells, to bytes: inout [UInt8]) throws {
        guard try cells.appendNextString(to: &bytes) else { throw nullCell("text") }
    }

    @inlinable
    static func requiredInt64(_ cells: inout some MessageRowCells) throws -> Int64 {
        guard let value = try cells.nextInt64() else { throw nullCell("a number") }
        return value
    }

    /// A store broke the select list's promise; the client gets a generic 500.
    @usableFromInline
    static func nullCell(_ expected: String) -> ChatterError {
        ChatterError(.internalError, "internal error", detail: "a history row has NULL where \(expected) is required")
    }
}
