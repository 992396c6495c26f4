/// Every logger metadata key Chatter writes, in one place so log queries can rely on them.
public enum LoggingKeys {
    public static let requestID = "request_id"
    public static let userID = "user_id"
    public static let sessionID = "session_id"
    public static let chatID = "chat_id"
    public static let messageID = "message_id"
    public static let errorCode = "error.code"
    public static let errorDetail = "error.detail"
    public static let httpMethod = "http.method"
    public static let httpPath = "http.path"
    public static let httpStatus = "http.status"
    public static let durationMs = "duration_ms"
    public static let migration = "db.migration"
    public static let dataDirectory = "data_dir"
    public static let rateLimitRule = "rate_limit.rule"
}
