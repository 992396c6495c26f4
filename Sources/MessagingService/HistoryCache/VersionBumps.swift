import ChatterCore
import Synchronization

/// Replaces chat versions for concurrent changes in as few calls as possible, the way a group
/// commit shares an fsync: one change at a time leads a call to `ChatVersions`, carrying its own
/// chat and every chat whose change arrived while the previous call was in flight; the others
/// wait for it. A call per change would put a Redis round trip into every send (a fifth fewer
/// durable sends per second); a batch of sends committed together shares one.
///
/// Each `bump` returns only once its own chat's version was replaced, or throws what that call
/// threw.
final class VersionBumps: Sendable {
    private enum Turn: Sendable {
        /// Another change's call replaced this chat's version.
        case done
        /// The previous leader is done: lead the next call.
        case lead
    }

    private struct State {
        var leading = false
        var waiting: [(chatID: String, turn: CheckedContinuation<Turn, any Error>)] = []
    }

    private let state = Mutex(State())
    let versions: any ChatVersions

    init(_ versions: any ChatVersions) {
        self.versions = versions
    }

    func bump(_ chatID: String) async throws {
        let leads = state.withLock { state in
            guard !state.leading else { return false }
            state.leading = true
            return true
        }
        if !leads {
            let turn = try await withCheckedThrowingContinuation { (turn: CheckedContinuation<Turn, any Error>) in
                let leadsNow = state.withLock { state in
                    guard !state.leading else {
                        state.waiting.append((chatID, turn))
                        return false
                    }
                    state.leading = true
                    return true
                }
                // The leader finished between the two looks: nobody would wake this one.
                if leadsNow { turn.resume(returning: .lead) }
            }
            if case .done = turn { return }
        }
        let carried = state.withLock { state in
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        do {
            try await versions.bump(chatIDs: [chatID] + carried.map(\.chatID))
        } catch {
            for waiter in carried { waiter.turn.resume(throwing: error) }
            handOver()
            throw error
        }
        for waiter in carried { waiter.turn.resume(returning: .done) }
        handOver()
    }

    /// The first change that arrived during this call leads the next one (it carries all that
    /// are waiting by then); with none, nobody leads until the next change.
    private func handOver() {
        let next = state.withLock { state -> CheckedContinuation<Turn, any Error>? in
            guard !state.waiting.isEmpty else {
                state.leading = false
                return nil
            }
            return state.waiting.removeFirst().turn
        }
        next?.resume(returning: .lead)
    }
}
