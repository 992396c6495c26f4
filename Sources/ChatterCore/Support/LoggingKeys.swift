/// Every logger metadata key Chatter writes, in one place so log queries can rely on them.
/// Where the Elastic Common Schema has a field for the value, the key is its name, so JSON logs
/// land in ECS fields as they are.
public enum LoggingKeys {
    public static let requestID = "http.request.id"
    public static let userID = "user.id"
    public static let sessionID = "session_id"
    public static let chatID = "chat_id"
    public static let messageID = "message_id"
    public static let errorCode = "error.code"
    public static let errorDetail = "error.detail"
    public static let httpMethod = "http.request.method"
    /// The route template (`/v1/chats/{chat_id}`), never the raw path with its ids.
    public static let httpPath = "http.route"
    public static let httpStatus = "http.response.status_code"
    public static let durationMs = "duration_ms"
    public static let migration = "db.migration"
    /// Sends in one batch transaction (PostgreSQL).
    public static let batchSize = "db.batch.size"
    public static let dataDirectory = "data_dir"
    public static let rateLimitRule = "rate_limit.rule"
}
