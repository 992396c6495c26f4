import ChatterCore
import VaporCSQLite

/// The current row of a statement, read cell by cell in column order without making values of
/// them: for the history page written straight to JSON (`MessageRowJSON`).
struct SQLCells: MessageRowCells {
    private let pointer: OpaquePointer
    private var index: Int32 = 0

    fileprivate init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    mutating func appendNextString(to bytes: inout [UInt8]) throws -> Bool {
        defer { index += 1 }
        // The type first: asking a NULL or numeric cell for text would convert it.
        switch sqlite_nio_sqlite3_column_type(pointer, index) {
        case SQLITE_TEXT: break
        case SQLITE_NULL: return false
        default: throw SQLiteFailure(code: SQLITE_MISMATCH, message: "column \(index) is not text", sql: nil)
        }
        let text = sqlite_nio_sqlite3_column_text(pointer, index)
        let length = Int(sqlite_nio_sqlite3_column_bytes(pointer, index))
        JSONWriter.appendString(UnsafeRawBufferPointer(start: text, count: text == nil ? 0 : length), to: &bytes)
        return true
    }

    mutating func nextInt64() throws -> Int64? {
        defer { index += 1 }
        switch sqlite_nio_sqlite3_column_type(pointer, index) {
        case SQLITE_NULL: return nil
        case SQLITE_INTEGER: return sqlite_nio_sqlite3_column_int64(pointer, index)
        default: throw SQLiteFailure(code: SQLITE_MISMATCH, message: "column \(index) is not an integer", sql: nil)
        }
    }

    mutating func nextBool() throws -> Bool {
        guard let value = try nextInt64() else {
            throw SQLiteFailure(code: SQLITE_MISMATCH, message: "column \(index - 1) is NULL, not a boolean", sql: nil)
        }
        return value != 0
    }
}

extension SQLConnection {
    /// Runs one statement and hands each row's cells to `body` until it returns false or the
    /// rows end. The cells are valid only inside `body`.
    func forEachRow(_ sql: String, _ binds: [SQLValue] = [], _ body: (inout SQLCells) throws -> Bool) throws {
        try withStatement(sql, binds) { pointer in
            var cells = SQLCells(pointer: pointer)
            return try body(&cells)
        }
    }
}
