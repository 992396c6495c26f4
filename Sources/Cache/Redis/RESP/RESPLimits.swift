/// Bounds the parser enforces, so a broken or hostile peer cannot make it buffer without limit
/// or recurse without end. Breaking one is a ``RedisError/Code/protocolError``.
struct RESPLimits: Sendable {
    /// Largest bulk string accepted: 512 MiB, Redis' own `proto-max-bulk-len` default.
    var maximumBulkLength = 512 * 1024 * 1024
    /// Largest element count an array header may announce.
    var maximumArrayCount = Int(Int32.max)
    /// Longest line (simple string, error, integer or length header) before its CRLF.
    var maximumLineLength = 64 * 1024
    /// How deep arrays may nest; Redis' own replies nest a handful of levels at most.
    var maximumDepth = 32
}
