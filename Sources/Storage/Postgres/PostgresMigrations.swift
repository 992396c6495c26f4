import ChatterCore
import Logging
import PostgresNIO

/// Versioned schema changes, applied in order, each in its own transaction, recorded in
/// `public.schema_migrations`. Never edit a released migration: add a new one.
///
/// Each role's tables live in the role's schema (`auth`, `chat`, `messaging`); the outbox and
/// its relay state in `outbox`. Times are milliseconds since the epoch (`BIGINT`), as in the
/// SQLite store, so both adapters return identical values.
///
/// Two processes that start together do not race: each migration's transaction first takes
/// `pg_advisory_xact_lock(lockKey)` and then re-reads what is applied, so the second process
/// waits for the first and finds the work done.
enum PostgresMigrations {
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// Arbitrary, fixed: "chatter migrations".
    static let lockKey: Int64 = 0x6368_6174_6d69_67

    static let all: [Migration] = [
        Migration(version: 1, name: "initial schema", statements: [
            "CREATE SCHEMA IF NOT EXISTS auth",
            "CREATE SCHEMA IF NOT EXISTS chat",
            "CREATE SCHEMA IF NOT EXISTS messaging",
            "CREATE SCHEMA IF NOT EXISTS outbox",
            """
            CREATE TABLE auth.users (
                id TEXT PRIMARY KEY,
                username TEXT COLLATE "C" NOT NULL UNIQUE,
                display_name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE auth.sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES auth.users(id),
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
            "CREATE INDEX sessions_revoked ON auth.sessions (revoked_at) WHERE revoked_at IS NOT NULL",
            """
            CREATE TABLE auth.refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                session_id TEXT NOT NULL REFERENCES auth.sessions(id),
                issued_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )
            """,
            "CREATE INDEX refresh_tokens_session ON auth.refresh_tokens (session_id)",
            """
            CREATE TABLE chat.chats (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL CHECK (type IN ('direct', 'group')),
                title TEXT,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                direct_key TEXT UNIQUE
            )
            """,
            """
            CREATE TABLE chat.members (
                chat_id TEXT NOT NULL REFERENCES chat.chats(id),
                user_id TEXT COLLATE "C" NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
                joined_at BIGINT NOT NULL,
                PRIMARY KEY (chat_id, user_id)
            )
            """,
            "CREATE INDEX members_user ON chat.members (user_id)",
            """
            CREATE TABLE messaging.chat_state (
                chat_id TEXT PRIMARY KEY,
                last_seq BIGINT NOT NULL,
                last_activity_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE messaging.messages (
                id TEXT PRIMARY KEY,
                chat_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                sender_id TEXT NOT NULL,
                body TEXT,
                client_msg_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                edited_at BIGINT,
                deleted_at BIGINT,
                UNIQUE (chat_id, seq),
                UNIQUE (chat_id, sender_id, client_msg_id)
            )
            """,
            """
            CREATE TABLE messaging.read_markers (
                chat_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (chat_id, user_id)
            )
            """,
            // Rows are marked one by one (`published_at`), not passed by a cursor: ids come
            // from a sequence at insert time, and a transaction holding a lower id may commit
            // after one holding a higher id, so "everything below the cursor is published"
            // would not hold. The partial index keeps the relay's scan to unpublished rows.
            """
            CREATE TABLE outbox.events (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                topic TEXT NOT NULL,
                partition_key TEXT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                seq BIGINT,
                published_at BIGINT
            )
            """,
            "CREATE INDEX events_unpublished ON outbox.events (id) WHERE published_at IS NULL",
            // The relay's progress, for lag and operators: the newest id it published and when.
            """
            CREATE TABLE outbox.relay (
                id INT PRIMARY KEY CHECK (id = 1),
                last_id BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO outbox.relay (id, last_id, updated_at) VALUES (1, 0, 0)",
        ]),
        // The W3C `traceparent` of the change's trace, so the relay and the consumers continue it.
        Migration(version: 2, name: "outbox trace context", statements: [
            "ALTER TABLE outbox.events ADD COLUMN traceparent TEXT",
        ]),
    ]

    static var latestVersion: Int { all.map(\.version).max() ?? 0 }

    static func apply(on connection: PostgresConnection, logger: Logger, upTo target: Int = latestVersion) async throws {
        // Under the same lock: two concurrent `CREATE TABLE IF NOT EXISTS` can still collide.
        _ = try await connection.rows("BEGIN", logger: logger)
        do {
            _ = try await connection.rows("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            _ = try await connection.rows(
                """
                CREATE TABLE IF NOT EXISTS public.schema_migrations (
                    version INT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """, logger: logger)
            _ = try await connection.rows("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.rows("ROLLBACK", logger: logger)
            throw error
        }
        for migration in all.sorted(by: { $0.version < $1.version }) where migration.version <= target {
            _ = try await connection.rows("BEGIN", logger: logger)
            do {
                // Held to the end of this transaction: a second process waits here, then sees
                // the version recorded and skips it.
                _ = try await connection.rows("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                let applied = try await appliedVersions(on: connection, logger: logger)
                if let newest = applied.max(), newest > latestVersion {
                    throw ChatterError(.internalError, "database is newer than this binary",
                                       detail: "schema version \(newest) > known \(latestVersion); upgrade chatter")
                }
                if applied.contains(migration.version) {
                    _ = try await connection.rows("COMMIT", logger: logger)
                    continue
                }
                for statement in migration.statements {
                    _ = try await connection.rows(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.rows(
                    "INSERT INTO public.schema_migrations (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(Timestamp.now().millisecondsSinceEpoch))",
                    logger: logger)
                _ = try await connection.rows("COMMIT", logger: logger)
                logger.info("applied migration", metadata: [LoggingKeys.migration: "\(migration.version) \(migration.name)"])
            } catch {
                _ = try? await connection.rows("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    static func appliedVersions(on connection: PostgresConnection, logger: Logger) async throws -> Set<Int> {
        Set(try await connection.rows("SELECT version FROM public.schema_migrations", logger: logger)
            .map { try $0.decode(Int.self) })
    }
}
