/// Typed helpers for the everyday commands. Values are UTF-8 text; use ``RedisClient/send(_:)``
/// for anything else.
extension RedisClient {
    /// `GET key`: the value, or `nil` if the key does not exist.
    public func get(_ key: String) async throws -> String? {
        let reply = try await send(["GET", key])
        if reply.isNull { return nil }
        guard let value = reply.string else { throw Self.unexpected(reply, from: "GET") }
        return value
    }

    /// `MGET key…`: each key's value in order, `nil` where a key does not exist (or holds
    /// something other than a string).
    public func getMany(_ keys: [String]) async throws -> [String?] {
        guard !keys.isEmpty else { return [] }
        let reply = try await send(["MGET"] + keys)
        guard let values = reply.array, values.count == keys.count else { throw Self.unexpected(reply, from: "MGET") }
        return values.map { $0.isNull ? nil : $0.string }
    }

    /// `SET key value [PX ms]`: stores `value`, expiring after `expiresIn` if given (rounded up
    /// to whole milliseconds; it must be positive).
    public func set(_ key: String, _ value: String, expiresIn: Duration? = nil) async throws {
        var command = ["SET", key, value]
        if let expiresIn { command += ["PX", try Self.milliseconds(expiresIn)] }
        _ = try await send(command)
    }

    /// `SET key value NX [PX ms]`: stores `value` only if `key` does not exist yet. Returns
    /// whether it was stored — the building block of locks and idempotency keys.
    public func setIfAbsent(_ key: String, _ value: String, expiresIn: Duration? = nil) async throws -> Bool {
        var command = ["SET", key, value, "NX"]
        if let expiresIn { command += ["PX", try Self.milliseconds(expiresIn)] }
        let reply = try await send(command)
        return !reply.isNull
    }

    /// `DEL key…`: returns how many of the keys existed.
    @discardableResult
    public func delete(_ keys: String...) async throws -> Int {
        try await integer(["DEL"] + keys)
    }

    /// `EXISTS key`: whether the key exists.
    public func exists(_ key: String) async throws -> Bool {
        try await integer(["EXISTS", key]) == 1
    }

    /// `INCRBY key by` (`INCR` for 1): the value after the increment; a missing key counts as 0.
    @discardableResult
    public func incr(_ key: String, by amount: Int64 = 1) async throws -> Int64 {
        let command = amount == 1 ? ["INCR", key] : ["INCRBY", key, String(amount)]
        let reply = try await send(command)
        guard let value = reply.integer else { throw Self.unexpected(reply, from: command[0]) }
        return value
    }

    /// `PEXPIRE key ms`: sets the key to expire after `duration`; returns false if it does not exist.
    @discardableResult
    public func expire(_ key: String, in duration: Duration) async throws -> Bool {
        try await integer(["PEXPIRE", key, Self.milliseconds(duration)]) == 1
    }

    /// `PUBLISH channel message`: returns how many subscribers received it (on this server).
    @discardableResult
    public func publish(_ message: String, to channel: String) async throws -> Int {
        try await integer(["PUBLISH", channel, message])
    }

    private func integer(_ command: [String]) async throws -> Int {
        let reply = try await send(command)
        guard let value = reply.integer else { throw Self.unexpected(reply, from: command[0]) }
        return Int(value)
    }

    static func unexpected(_ reply: RESPValue, from command: String) -> RedisError {
        RedisError(.unexpectedReply, "unexpected reply to \(command): \(reply)")
    }

    /// A positive duration in whole milliseconds, rounded up, as Redis' `PX` takes it.
    static func milliseconds(_ duration: Duration) throws(RedisError) -> String {
        let (seconds, attoseconds) = duration.components
        guard duration > .zero else { throw RedisError(.invalidArgument, "expiry \(duration) is not positive") }
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let rest = attoseconds / perMillisecond + (attoseconds % perMillisecond > 0 ? 1 : 0)
        let (scaled, overflow1) = seconds.multipliedReportingOverflow(by: 1000)
        let (total, overflow2) = scaled.addingReportingOverflow(rest)
        guard !overflow1, !overflow2 else { throw RedisError(.invalidArgument, "expiry \(duration) is too long") }
        return String(total)
    }
}
