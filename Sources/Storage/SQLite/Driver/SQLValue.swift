import ChatterCore

/// A value bound to or read from a statement.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    static func int(_ value: Int64) -> SQLValue { .integer(value) }
    static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    static func time(_ value: Timestamp) -> SQLValue { .integer(value.millisecondsSinceEpoch) }
    static func optionalText(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func optionalTime(_ value: Timestamp?) -> SQLValue { value.map { .time($0) } ?? .null }
}

/// Column names of one statement, shared by every row it returns.
final class SQLColumns: Sendable {
    let names: [String]
    private let indexes: [String: Int]

    init(names: [String]) {
        self.names = names
        var indexes: [String: Int] = [:]
        for (index, name) in names.enumerated() where indexes[name] == nil { indexes[name] = index }
        self.indexes = indexes
    }

    func index(of name: String) -> Int? { indexes[name] }
}

/// One result row.
struct SQLRow: Sendable {
    let columns: SQLColumns
    let values: [SQLValue]

    func value(_ name: String) -> SQLValue {
        guard let index = columns.index(of: name) else { return .null }
        return values[index]
    }

    func string(_ name: String) throws -> String {
        guard let value = optionalString(name) else { throw StorageError.missingColumn(name) }
        return value
    }

    func optionalString(_ name: String) -> String? {
        switch value(name) {
        case .text(let text): text
        case .integer(let number): String(number)
        case .real(let number): String(number)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        case .null: nil
        }
    }

    func int64(_ name: String) throws -> Int64 {
        guard let value = optionalInt64(name) else { throw StorageError.missingColumn(name) }
        return value
    }

    func optionalInt64(_ name: String) -> Int64? {
        switch value(name) {
        case .integer(let number): number
        case .real(let number): Int64(exactly: number)
        case .text(let text): Int64(text)
        case .blob, .null: nil
        }
    }

    func timestamp(_ name: String) throws -> Timestamp {
        Timestamp(millisecondsSinceEpoch: try int64(name))
    }

    func optionalTimestamp(_ name: String) -> Timestamp? {
        optionalInt64(name).map(Timestamp.init(millisecondsSinceEpoch:))
    }
}

/// A row that does not have the shape the schema promises: a bug or a corrupt file, never
/// the client's fault.
enum StorageError: Error, CustomStringConvertible {
    case missingColumn(String)
    case invalidValue(column: String, value: String)

    var description: String {
        switch self {
        case .missingColumn(let name): "column \(name) missing or NULL"
        case .invalidValue(let column, let value): "column \(column) holds unexpected value \(value)"
        }
    }
}

/// An error reported by SQLite, with its extended result code.
struct SQLiteFailure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var sql: String?

    var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " in \($0.prefix(120))" } ?? "")
    }
}
