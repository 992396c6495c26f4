import HummingbirdWebSocket
import NIOWebSocket
import Synchronization

/// The client sides of the sockets being relayed, so that a shutdown can close them with 1001
/// "going away" before the server's own drain would close them with 1000 (which tells a client
/// nothing about reconnecting).
final class RelayedSockets: Sendable {
    private let state = Mutex<(next: Int, open: [Int: WebSocketOutboundWriter], closing: Bool)>((0, [:], false))

    /// Registers a client socket; nil when shutdown has begun (the caller closes it at once).
    func add(_ outbound: WebSocketOutboundWriter) -> Int? {
        state.withLock { state in
            guard !state.closing else { return nil }
            state.next += 1
            state.open[state.next] = outbound
            return state.next
        }
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.open.removeValue(forKey: id) }
    }

    var count: Int { state.withLock { $0.open.count } }

    /// Closes every client socket with 1001; the relays then close their upstream sides.
    func closeAllGoingAway() async {
        let sockets = state.withLock { state in
            state.closing = true
            return Array(state.open.values)
        }
        for outbound in sockets {
            try? await outbound.close(.goingAway, reason: "server going away")
        }
    }
}
