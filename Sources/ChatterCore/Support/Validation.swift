/// The input rules of the public API (api-v1.md). Each returns the normalised value or throws a
/// `validation_failed` error naming the field.
public enum Validation {
    public static let usernameLength = 3...32
    public static let passwordLength = 8...128
    public static let displayNameLength = 1...64
    public static let messageBodyLength = 1...4000
    public static let clientMsgIDLength = 1...64
    public static let titleLength = 1...128
    public static let maxGroupMembers = 1000

    /// Usernames are 3–32 of `[a-z0-9_.-]`, compared case-insensitively; stored lowercased.
    public static func username(_ raw: String) throws -> String {
        let lowered = raw.lowercased()
        guard usernameLength.contains(lowered.unicodeScalars.count),
              lowered.unicodeScalars.allSatisfy({ scalar in
                  ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "." || scalar == "-"
              })
        else {
            throw ChatterError.validation("username must be 3-32 characters of a-z, 0-9, '_', '.' or '-'")
        }
        return lowered
    }

    public static func password(_ raw: String) throws -> String {
        guard passwordLength.contains(raw.unicodeScalars.count) else {
            throw ChatterError.validation("password must be 8-128 characters")
        }
        return raw
    }

    public static func displayName(_ raw: String?, fallback: String) throws -> String {
        guard let raw else { return fallback }
        let trimmed = raw.trimmingWhitespace()
        guard displayNameLength.contains(trimmed.unicodeScalars.count), !trimmed.containsControlCharacters else {
            throw ChatterError.validation("display_name must be 1-64 characters")
        }
        return trimmed
    }

    /// U+0000 is refused: PostgreSQL's text cannot hold it, and both stores take the same bodies.
    public static func messageBody(_ raw: String) throws -> String {
        guard messageBodyLength.contains(raw.unicodeScalars.count) else {
            throw ChatterError.validation("body must be 1-4000 characters")
        }
        guard !raw.utf8.contains(0) else {
            throw ChatterError.validation("body must not contain U+0000")
        }
        return raw
    }

    public static func clientMsgID(_ raw: String) throws -> String {
        guard clientMsgIDLength.contains(raw.count), !raw.containsControlCharacters else {
            throw ChatterError.validation("client_msg_id must be 1-64 characters")
        }
        return raw
    }

    public static func title(_ raw: String?) throws -> String {
        let trimmed = (raw ?? "").trimmingWhitespace()
        guard titleLength.contains(trimmed.unicodeScalars.count), !trimmed.containsControlCharacters else {
            throw ChatterError.validation("title must be 1-128 characters")
        }
        return trimmed
    }

    /// Clamp-free limit parsing: a limit outside `range` is a client error, not silently fixed.
    public static func limit(_ raw: String?, default defaultValue: Int, range: ClosedRange<Int>, field: String = "limit") throws -> Int {
        guard let raw else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            throw ChatterError.invalidRequest("\(field) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public static func sequenceNumber(_ raw: String?, field: String) throws -> Int64? {
        guard let raw else { return nil }
        guard let value = Int64(raw), value >= 0 else {
            throw ChatterError.invalidRequest("\(field) must be a non-negative integer")
        }
        return value
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }

    var containsControlCharacters: Bool {
        unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
