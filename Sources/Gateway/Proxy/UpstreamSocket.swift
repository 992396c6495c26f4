import HummingbirdWebSocket
import Synchronization

/// The upstream half of a relayed WebSocket, as the task reading the client sees it: not yet
/// connected, open (frames can be written), or closed.
final class UpstreamSocket: Sendable {
    private enum State {
        case connecting([CheckedContinuation<WebSocketOutboundWriter?, Never>])
        case open(WebSocketOutboundWriter)
        case closed(wasOpened: Bool)
    }

    private let state = Mutex<State>(.connecting([]))

    /// The upstream connection is up. False when the socket was already closed (the client
    /// left while it connected), in which case the caller closes the new connection again.
    func opened(_ writer: WebSocketOutboundWriter) -> Bool {
        let waiters: [CheckedContinuation<WebSocketOutboundWriter?, Never>]? = state.withLock { state in
            guard case .connecting(let waiters) = state else { return nil }
            state = .open(writer)
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: writer) }
        return true
    }

    /// Whether the upstream connection was ever up.
    var wasOpened: Bool {
        state.withLock {
            switch $0 {
            case .connecting: false
            case .open: true
            case .closed(let wasOpened): wasOpened
            }
        }
    }

    /// No more frames go upstream. Returns the writer if the connection was open, so the caller
    /// can close it.
    @discardableResult
    func close() -> WebSocketOutboundWriter? {
        let (waiters, writer): ([CheckedContinuation<WebSocketOutboundWriter?, Never>], WebSocketOutboundWriter?) = state.withLock { state in
            switch state {
            case .connecting(let waiters):
                state = .closed(wasOpened: false)
                return (waiters, nil)
            case .open(let writer):
                state = .closed(wasOpened: true)
                return ([], writer)
            case .closed:
                return ([], nil)
            }
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        return writer
    }

    /// The writer once the connection is up; nil once the socket is closed or the task cancelled.
    func writer() async -> WebSocketOutboundWriter? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WebSocketOutboundWriter?, Never>) in
                let ready: WebSocketOutboundWriter?? = state.withLock { state in
                    switch state {
                    case .connecting(var waiters):
                        waiters.append(continuation)
                        state = .connecting(waiters)
                        return .none
                    case .open(let writer): return .some(writer)
                    case .closed: return .some(nil)
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }
}
