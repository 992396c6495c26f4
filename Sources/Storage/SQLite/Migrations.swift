import ChatterCore
import Logging

/// Versioned schema changes, applied in order, each in its own transaction, recorded in
/// `schema_migrations`. Never edit a released migration: add a new one.
///
/// Table names are prefixed with the role that owns them (`auth_`, `chat_`, `messaging_`); no
/// role's code touches another role's tables.
enum Migrations {
    struct Migration {
        var version: Int
        var name: String
        var statements: [String]
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "initial schema", statements: [
            """
            CREATE TABLE auth_users (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                display_name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE auth_sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES auth_users(id),
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            )
            """,
            "CREATE INDEX auth_sessions_revoked ON auth_sessions(revoked_at) WHERE revoked_at IS NOT NULL",
            """
            CREATE TABLE auth_refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                session_id TEXT NOT NULL REFERENCES auth_sessions(id),
                issued_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER
            )
            """,
            "CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens(session_id)",
            """
            CREATE TABLE chat_chats (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL CHECK (type IN ('direct', 'group')),
                title TEXT,
                created_by TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                direct_key TEXT UNIQUE
            )
            """,
            """
            CREATE TABLE chat_members (
                chat_id TEXT NOT NULL REFERENCES chat_chats(id),
                user_id TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
                joined_at INTEGER NOT NULL,
                PRIMARY KEY (chat_id, user_id)
            )
            """,
            "CREATE INDEX chat_members_user ON chat_members(user_id)",
            """
            CREATE TABLE messaging_chat_state (
                chat_id TEXT PRIMARY KEY,
                last_seq INTEGER NOT NULL,
                last_activity_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE messaging_messages (
                id TEXT PRIMARY KEY,
                chat_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                sender_id TEXT NOT NULL,
                body TEXT,
                client_msg_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                edited_at INTEGER,
                deleted_at INTEGER,
                UNIQUE (chat_id, seq),
                UNIQUE (chat_id, sender_id, client_msg_id)
            )
            """,
            """
            CREATE TABLE messaging_read_markers (
                chat_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (chat_id, user_id)
            )
            """,
            """
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                topic TEXT NOT NULL,
                partition_key TEXT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                published_at INTEGER
            )
            """,
            "CREATE INDEX outbox_unpublished ON outbox(id) WHERE published_at IS NULL",
        ]),
        Migration(version: 2, name: "embedded event log", statements: [
            """
            CREATE TABLE eventlog_records (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                key TEXT NOT NULL,
                payload TEXT NOT NULL,
                headers TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (topic, partition, offset)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE eventlog_heads (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                next_offset INTEGER NOT NULL,
                PRIMARY KEY (topic, partition)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE eventlog_offsets (
                group_id TEXT NOT NULL,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                next_offset INTEGER NOT NULL,
                PRIMARY KEY (group_id, topic, partition)
            ) WITHOUT ROWID
            """,
        ]),
        // What consumers route on travels as record headers, so the fan-out need not parse
        // the payload: the outbox keeps the message seq next to the kind and time it has.
        Migration(version: 3, name: "outbox seq for event headers", statements: [
            "ALTER TABLE outbox ADD COLUMN seq INTEGER",
        ]),
        // The relay keeps one cursor (the last relayed id) instead of stamping every row and
        // keeping a partial index of unpublished rows: one small update per relay step. Ids are
        // AUTOINCREMENT, so no row can ever appear below the cursor. `published_at` stays for
        // old files but is no longer written.
        Migration(version: 4, name: "outbox relay cursor", statements: [
            "CREATE TABLE outbox_relay (id INTEGER PRIMARY KEY CHECK (id = 1), last_id INTEGER NOT NULL)",
            """
            INSERT INTO outbox_relay (id, last_id) VALUES (1, COALESCE(
                (SELECT MIN(id) - 1 FROM outbox WHERE published_at IS NULL), (SELECT MAX(id) FROM outbox), 0))
            """,
            "DROP INDEX outbox_unpublished",
        ]),
        // The W3C `traceparent` of the change's trace, so the relay and the consumers continue it.
        Migration(version: 5, name: "outbox trace context", statements: [
            "ALTER TABLE outbox ADD COLUMN traceparent TEXT",
        ]),
    ]

    static var latestVersion: Int { all.map(\.version).max() ?? 0 }

    static func apply(on connection: SQLConnection, logger: Logger, upTo target: Int = latestVersion) throws {
        _ = try connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at INTEGER NOT NULL
            )
            """)
        let applied = Set(try connection.query("SELECT version FROM schema_migrations").map { Int(try $0.int64("version")) })
        if let newest = applied.max(), newest > latestVersion {
            throw ChatterError(.internalError, "database is newer than this binary",
                               detail: "schema version \(newest) > known \(latestVersion); upgrade chatter")
        }
        for migration in all.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) && migration.version <= target {
            _ = try connection.query("BEGIN IMMEDIATE")
            do {
                for statement in migration.statements {
                    _ = try connection.query(statement)
                }
                _ = try connection.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.int(migration.version), .text(migration.name), .time(.now())])
                _ = try connection.query("COMMIT")
                logger.info("applied migration", metadata: [LoggingKeys.migration: "\(migration.version) \(migration.name)"])
            } catch {
                _ = try? connection.query("ROLLBACK")
                throw error
            }
        }
    }
}
