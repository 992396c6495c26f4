import ChatterCore
import SQLiteNIO

extension SQLiteRow {
    func string(_ name: String) throws -> String {
        guard let value = column(name)?.string else { throw StorageError.missingColumn(name) }
        return value
    }

    func optionalString(_ name: String) -> String? {
        guard let data = column(name), data != .null else { return nil }
        return data.string
    }

    func int64(_ name: String) throws -> Int64 {
        guard let value = column(name)?.integer else { throw StorageError.missingColumn(name) }
        return Int64(value)
    }

    func optionalInt64(_ name: String) -> Int64? {
        guard let data = column(name), data != .null, let value = data.integer else { return nil }
        return Int64(value)
    }

    func timestamp(_ name: String) throws -> Timestamp {
        Timestamp(millisecondsSinceEpoch: try int64(name))
    }

    func optionalTimestamp(_ name: String) -> Timestamp? {
        optionalInt64(name).map(Timestamp.init(millisecondsSinceEpoch:))
    }
}

extension SQLiteData {
    static func int(_ value: Int64) -> SQLiteData { .integer(SQLiteInt64(value)) }
    static func int(_ value: Int) -> SQLiteData { .integer(SQLiteInt64(value)) }
    static func time(_ value: Timestamp) -> SQLiteData { .integer(SQLiteInt64(value.millisecondsSinceEpoch)) }
    static func optionalText(_ value: String?) -> SQLiteData { value.map { .text($0) } ?? .null }
    static func optionalTime(_ value: Timestamp?) -> SQLiteData { value.map { .time($0) } ?? .null }
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
