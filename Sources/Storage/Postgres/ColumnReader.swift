import ChatterCore
import NIOCore
import PostgresNIO

/// Reads a row's columns in order, each as the concrete type asked for.
///
/// postgres-nio's `row.decode((A, B, …).self)` builds generic metadata for the tuple on every
/// row; on a 50-message history page that, with the decoding around it, was about a tenth of
/// the server's CPU. Text and `bigint` columns in the binary format, all this store reads, are
/// read straight from the cell's bytes; any other column falls back to postgres-nio's decoder.
struct ColumnReader {
    private var cells: PostgresRow.Iterator

    init(_ row: PostgresRow) {
        cells = row.makeIterator()
    }

    fileprivate mutating func nextCell() throws -> PostgresCell {
        guard let cell = cells.next() else { throw PostgresStorageError(column: "(row)", value: "fewer columns than read") }
        return cell
    }

    mutating func string() throws -> String {
        guard let value = try optionalString() else { throw Self.unexpectedNull() }
        return value
    }

    mutating func optionalString() throws -> String? {
        let cell = try nextCell()
        guard let bytes = cell.bytes else { return nil }
        switch cell.dataType {
        case .text, .varchar, .name, .bpchar: return String(buffer: bytes)
        default: return try cell.decode(String.self)
        }
    }

    mutating func int64() throws -> Int64 {
        guard let value = try optionalInt64() else { throw Self.unexpectedNull() }
        return value
    }

    mutating func optionalInt64() throws -> Int64? {
        let cell = try nextCell()
        guard let bytes = cell.bytes else { return nil }
        if cell.dataType == .int8, cell.format == .binary, bytes.readableBytes == 8,
           let value = bytes.getInteger(at: bytes.readerIndex, endianness: .big, as: Int64.self) {
            return value
        }
        return try cell.decode(Int64.self)
    }

    fileprivate static func unexpectedNull() -> PostgresStorageError {
        PostgresStorageError(column: "(non-null column)", value: "NULL")
    }
}

/// History rows written straight to JSON (`MessageRowJSON`): text cells go from their bytes into
/// the page.
extension ColumnReader: MessageRowCells {
    mutating func appendNextString(to bytes: inout [UInt8]) throws -> Bool {
        let cell = try nextCell()
        guard let buffer = cell.bytes else { return false }
        switch cell.dataType {
        case .text, .varchar, .name, .bpchar:
            buffer.withUnsafeReadableBytes { JSONWriter.appendString($0, to: &bytes) }
        default:
            var value = try cell.decode(String.self)
            value.withUTF8 { JSONWriter.appendString(UnsafeRawBufferPointer($0), to: &bytes) }
        }
        return true
    }

    mutating func nextInt64() throws -> Int64? {
        try optionalInt64()
    }

    mutating func nextBool() throws -> Bool {
        let cell = try nextCell()
        guard let bytes = cell.bytes else { throw Self.unexpectedNull() }
        if cell.dataType == .bool, cell.format == .binary, bytes.readableBytes == 1,
           let value = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) {
            return value != 0
        }
        return try cell.decode(Bool.self)
    }
}
