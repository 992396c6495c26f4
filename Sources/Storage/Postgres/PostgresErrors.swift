import ChatterCore
import Logging
import PostgresNIO

/// Turns postgres-nio's errors into the domain's: anything that means "the database cannot be
/// reached right now" becomes `ChatterError.unavailable` (503); `ChatterError`s pass through.
enum PostgresErrors {
    static let uniqueViolation = "23505"

    static func map(_ error: any Error, logger: Logger) -> any Error {
        switch error {
        case let error as ChatterError:
            return error
        case is CancellationError:
            return error
        case is LeaseRace.TimedOut:
            return ChatterError.unavailable("database", detail: "no connection within the acquire timeout")
        case is LeaseRace.ConnectionLost:
            return ChatterError.unavailable("database", detail: "the connection closed during the call")
        case let error as PSQLError:
            if isUnavailable(error) {
                return ChatterError.unavailable("database", detail: String(reflecting: error))
            }
            return error
        default:
            return error
        }
    }

    /// Whether the error says the server is gone, refusing connections or shutting down, as
    /// opposed to a problem with the statement itself.
    static func isUnavailable(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else {
            // No server response at all: connection refused, reset, closed, pool shut down.
            return error.code != .tooManyParameters && error.code != .invalidCommandTag
        }
        // 08: connection exception; 57P0x: admin/crash shutdown, cannot connect now;
        // 53: insufficient resources (too many connections).
        return state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53")
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == uniqueViolation
    }
}
