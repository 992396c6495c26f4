import VaporCSQLite

/// One SQLite connection, driven synchronously by whichever thread currently owns it.
///
/// Every C call of the storage layer lives in this folder. `SQLiteStore` hands a connection
/// to exactly one thread at a time (the writer thread, or a reader thread that checked it out),
/// so it is opened without SQLite's own mutex and marked `@unchecked Sendable`. Statements are
/// prepared once per connection and reused: the schema's queries are a small fixed set, and
/// parsing them on every call was a measurable share of the send path.
final class SQLConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// The trace context of the write being run (set by the store around each write's body on
    /// the writer thread, where the caller's task-local context is not visible).
    var traceparent: String?
    private var statements: [String: PreparedStatement] = [:]
    /// Beyond this many cached statements (dynamic `IN (…)` lists) the cache starts over.
    static let statementCacheLimit = 256

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    private static let initialize: Void = { _ = sqlite_nio_sqlite3_initialize() }()

    init(path: String, readOnly: Bool = false) throws {
        _ = Self.initialize
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let status = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open"
            sqlite_nio_sqlite3_close_v2(handle)
            throw SQLiteFailure(code: status, message: message, sql: nil)
        }
        self.handle = handle
    }

    deinit { close() }

    var isClosed: Bool { handle == nil }

    /// Runs one statement and returns all its rows.
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue] = []) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try run(sql, binds) { statement in
            rows.append(SQLRow(columns: statement.columns, values: readRow(statement)))
            return true
        }
        return rows
    }

    /// Runs one statement and calls `row` with the statement's pointer on each row, until it
    /// returns false or the rows end (`forEachRow`).
    func withStatement(_ sql: String, _ binds: [SQLValue], row: (OpaquePointer) throws -> Bool) throws {
        try run(sql, binds) { try row($0.pointer) }
    }

    /// Runs one statement that returns no rows (or whose rows do not matter); returns the
    /// number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue] = []) throws -> Int {
        try run(sql, binds) { _ in true }
        return Int(sqlite_nio_sqlite3_changes(handle))
    }

    /// The one step loop: prepares (or reuses) the statement, binds, and steps it, calling `row`
    /// on each row until it returns false or the rows end; the statement is reset either way.
    private func run(_ sql: String, _ binds: [SQLValue], row: (PreparedStatement) throws -> Bool) throws {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try bind(binds, to: statement)
        while true {
            let status = sqlite_nio_sqlite3_step(statement.pointer)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw failure(status, sql: sql) }
            guard try row(statement) else { return }
        }
    }

    /// Runs a script of statements without caching them (migrations, pragmas).
    func executeScript(_ sql: String) throws {
        let status = sqlite_nio_sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw failure(status, sql: sql) }
    }

    /// Waits up to `milliseconds` for another connection's lock instead of failing at once.
    func setBusyTimeout(milliseconds: Int32) {
        sqlite_nio_sqlite3_busy_timeout(handle, milliseconds)
    }

    func close() {
        guard let handle else { return }
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        sqlite_nio_sqlite3_close_v2(handle)
        self.handle = nil
    }

    // MARK: - Statements

    private func prepared(_ sql: String) throws -> PreparedStatement {
        if let statement = statements[sql] { return statement }
        guard handle != nil else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "connection is closed", sql: sql) }
        var pointer: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw failure(status, sql: sql) }
        let count = sqlite_nio_sqlite3_column_count(pointer)
        let names = (0..<count).map { index in
            sqlite_nio_sqlite3_column_name(pointer, index).map { String(cString: $0) } ?? ""
        }
        let statement = PreparedStatement(pointer: pointer, columns: SQLColumns(names: names))
        if statements.count >= Self.statementCacheLimit {
            for cached in statements.values { cached.finalize() }
            statements.removeAll(keepingCapacity: true)
        }
        statements[sql] = statement
        return statement
    }

    private func bind(_ binds: [SQLValue], to statement: PreparedStatement) throws {
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null:
                status = sqlite_nio_sqlite3_bind_null(statement.pointer, index)
            case .integer(let number):
                status = sqlite_nio_sqlite3_bind_int64(statement.pointer, index, number)
            case .real(let number):
                status = sqlite_nio_sqlite3_bind_double(statement.pointer, index, number)
            case .text(let text):
                var text = text
                status = text.withUTF8 { bytes in
                    // SQLITE_TRANSIENT: SQLite copies the bytes before this closure returns.
                    let start = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
                    return sqlite_nio_sqlite3_bind_text64(
                        statement.pointer, index, start, UInt64(bytes.count), Self.transient, UInt8(SQLITE_UTF8))
                }
            case .blob(let bytes):
                status = bytes.withUnsafeBytes { raw in
                    sqlite_nio_sqlite3_bind_blob64(statement.pointer, index, raw.baseAddress, UInt64(raw.count), Self.transient)
                }
            }
            guard status == SQLITE_OK else { throw failure(status, sql: nil) }
        }
    }

    private func readRow(_ statement: PreparedStatement) -> [SQLValue] {
        let pointer = statement.pointer
        let count = Int32(statement.columns.names.count)
        var values: [SQLValue] = []
        values.reserveCapacity(Int(count))
        for index in 0..<count {
            switch sqlite_nio_sqlite3_column_type(pointer, index) {
            case SQLITE_INTEGER:
                values.append(.integer(sqlite_nio_sqlite3_column_int64(pointer, index)))
            case SQLITE_FLOAT:
                values.append(.real(sqlite_nio_sqlite3_column_double(pointer, index)))
            case SQLITE_TEXT:
                let length = Int(sqlite_nio_sqlite3_column_bytes(pointer, index))
                if let text = sqlite_nio_sqlite3_column_text(pointer, index) {
                    values.append(.text(String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self)))
                } else {
                    values.append(.text(""))
                }
            case SQLITE_BLOB:
                let length = Int(sqlite_nio_sqlite3_column_bytes(pointer, index))
                if let blob = sqlite_nio_sqlite3_column_blob(pointer, index) {
                    values.append(.blob(Array(UnsafeRawBufferPointer(start: blob, count: length))))
                } else {
                    values.append(.blob([]))
                }
            default:
                values.append(.null)
            }
        }
        return values
    }

    private func failure(_ status: Int32, sql: String?) -> SQLiteFailure {
        let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "unknown error"
        return SQLiteFailure(code: status, message: message, sql: sql)
    }
}

/// A compiled statement kept for reuse by its connection.
private final class PreparedStatement {
    let pointer: OpaquePointer
    let columns: SQLColumns

    init(pointer: OpaquePointer, columns: SQLColumns) {
        self.pointer = pointer
        self.columns = columns
    }

    /// Ready for the next use: no open cursor, no bound values held.
    func reset() {
        sqlite_nio_sqlite3_reset(pointer)
        sqlite_nio_sqlite3_clear_bindings(pointer)
    }

    func finalize() {
        sqlite_nio_sqlite3_finalize(pointer)
    }
}
