import ChatterCore
import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs `query` and collects its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }
}

extension Timestamp {
    init(milliseconds: Int64) { self.init(millisecondsSinceEpoch: milliseconds) }
    var milliseconds: Int64 { millisecondsSinceEpoch }
}

/// Values in the database that no code path writes.
struct PostgresStorageError: Error, CustomStringConvertible {
    var column: String
    var value: String
    var description: String { "column \(column) holds unexpected value \(value)" }
}
