import Synchronization

/// Who is connected: user id → that user's connections (one per device or tab).
final class ConnectionRegistry: Sendable {
    private let byUser = Mutex<[String: [String: Connection]]>([:])

    /// Adds `connection`; true when it is the user's first.
    @discardableResult
    func add(_ connection: Connection) -> Bool {
        byUser.withLock { byUser in
            let first = byUser[connection.userID]?.isEmpty ?? true
            byUser[connection.userID, default: [:]][connection.id] = connection
            return first
        }
    }

    /// Removes `connection`; true when the user has no connection left.
    @discardableResult
    func remove(_ connection: Connection) -> Bool {
        byUser.withLock { byUser in
            byUser[connection.userID]?[connection.id] = nil
            if byUser[connection.userID]?.isEmpty ?? true {
                byUser[connection.userID] = nil
                return true
            }
            return false
        }
    }

    func connections(of userIDs: some Sequence<String>) -> [Connection] {
        byUser.withLock { byUser in userIDs.flatMap { byUser[$0].map { Array($0.values) } ?? [] } }
    }

    func isOnline(_ userID: String) -> Bool {
        byUser.withLock { $0[userID] != nil }
    }

    var all: [Connection] {
        byUser.withLock { $0.values.flatMap(\.values) }
    }

    var count: Int {
        byUser.withLock { $0.values.reduce(0) { $0 + $1.count } }
    }
}
