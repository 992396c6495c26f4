extension EventLog {
    /// Reads `topic` as `group` until the calling task is cancelled, handing each batch to
    /// `handle`. When the log cannot be read, `onFailure` hears why and reading starts over
    /// (a new subscription) after `retryDelay`; nothing is skipped that the log still holds.
    /// `probe`, when given, follows the current subscription for lag metrics.
    public func consume(
        topic: String, group: String, start: StartPosition, maxRecords: Int = 512, retryDelay: Duration = .milliseconds(500),
        probe: ConsumerLagProbe? = nil, onFailure: (any Error) async -> Void, _ handle: ([EventRecord]) async -> Void
    ) async {
        var subscription: (any EventSubscription)?
        while !Task.isCancelled {
            do {
                let current: any EventSubscription
                if let subscription { current = subscription } else {
                    current = try await subscribe(topic: topic, group: group, start: start)
                    subscription = current
                    probe?.attach(current)
                }
                await handle(try await current.next(maxRecords: maxRecords))
            } catch {
                if Task.isCancelled { return }
                await onFailure(error)
                try? await Task.sleep(for: retryDelay)
            }
        }
    }
}
