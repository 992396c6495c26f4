import Synchronization

/// Whether a connection may still take commands, readable from any thread. The channel handler
/// marks it before it fails a command, so a caller resuming from that failure already sees it.
final class ConnectionStatus: Sendable {
    private let unusable = Atomic<Bool>(false)

    var isUsable: Bool { !unusable.load(ordering: .acquiring) }

    func markUnusable() {
        unusable.store(true, ordering: .releasing)
    }
}
