import Logging
import PostgresNIO

/// A statement on a hot path that PostgreSQL parses and plans once per connection instead of on
/// every call.
///
/// An ordinary query goes out as an unnamed statement: PostgreSQL parses, analyses and plans it
/// on every call. Planning alone was 5–14% of the time of the batch-send and relay statements and
/// 45% of the history page's (`pg_stat_statements`, 2026-12-07), with parsing on top, on the core
/// PostgreSQL shares with everything else. Prepared, later calls only bind and execute, and once
/// PostgreSQL settles on a generic plan they skip planning too.
///
/// A conforming type writes its statement once, as a function from values to an interpolated
/// `PostgresQuery`, so the SQL text and the order of its parameters cannot drift apart: `sql` is
/// that function's text, which does not depend on the values (each becomes `$n`).
protocol PreparedQuery: Sendable {
    /// The statement's text, the same for every call: `query(...)` with any values.
    static var sql: String { get }
    /// The statement's name on a connection: `preparedStatementName(Self.self)`, kept in a
    /// `static let` because postgres-nio asks for it on every call (made each time with
    /// `String(reflecting:)`, it was 0.7% of the server's CPU on a history read).
    static var name: String { get }
}

/// A name no other type's statement can have.
func preparedStatementName(_ type: any PreparedQuery.Type) -> String {
    "chatter." + String(reflecting: type)
}

/// postgres-nio's prepared statement for a `PreparedQuery`: named after the type, rows returned
/// as they come, for the caller's own decoding (`ColumnReader`, `decode`).
private struct PreparedRows<Query: PreparedQuery>: PostgresPreparedStatement {
    static var name: String { Query.name }
    static var sql: String { Query.sql }
    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs `query` (built by `Query`) as `Query`'s prepared statement and collects its rows.
    func rows<Query: PreparedQuery>(prepared _: Query.Type, _ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        assert(query.sql == Query.sql, "a prepared query's text depends on its values")
        var rows: [PostgresRow] = []
        for try await row in try await execute(PreparedRows<Query>(bindings: query.binds), logger: logger) {
            rows.append(row)
        }
        return rows
    }
}
