import Synchronization

/// The instrument for each label set, made on first use. The registry would return the same
/// instrument for the same name and labels, but only after validating and hashing both on
/// every call, which a per-request or per-message path need not pay.
final class InstrumentCache<Key: Hashable & Sendable, Instrument: Sendable>: Sendable {
    private let instruments = Mutex<[Key: Instrument]>([:])

    func get(_ key: Key, make: () -> Instrument) -> Instrument {
        instruments.withLock { instruments in
            if let known = instruments[key] { return known }
            let made = make()
            instruments[key] = made
            return made
        }
    }
}
