/// Which new spans are recorded and exported (`OTEL_TRACES_SAMPLER`). A struct with static
/// members rather than an enum, so samplers can be added. Spans that are not sampled still get
/// ids and still propagate them (flags `00`), so downstream services see one consistent trace.
public struct Sampler: Sendable, Hashable, CustomStringConvertible {
    fileprivate enum Root: Sendable, Hashable {
        case alwaysOn, alwaysOff
        case ratio(Double)
    }
    private let root: Root
    private let followsParent: Bool

    private init(_ root: Root, followsParent: Bool) {
        self.root = root
        self.followsParent = followsParent
    }

    public static let alwaysOn = Sampler(.alwaysOn, followsParent: false)
    public static let alwaysOff = Sampler(.alwaysOff, followsParent: false)
    /// Keeps about `ratio` of traces, decided from the trace id so every service that uses the
    /// same rule keeps the same traces.
    public static func traceIDRatio(_ ratio: Double) -> Sampler { Sampler(.ratio(ratio), followsParent: false) }
    /// With a parent, its sampled flag decides; a root span is always sampled. The default.
    public static let parentBasedAlwaysOn = Sampler(.alwaysOn, followsParent: true)
    public static let parentBasedAlwaysOff = Sampler(.alwaysOff, followsParent: true)
    public static func parentBasedTraceIDRatio(_ ratio: Double) -> Sampler { Sampler(.ratio(ratio), followsParent: true) }

    /// Whether a new span of `traceID` under `parent` is sampled.
    public func shouldSample(traceID: TraceID, parent: SpanContext?) -> Bool {
        if followsParent, let parent { return parent.isSampled }
        switch root {
        case .alwaysOn: return true
        case .alwaysOff: return false
        case .ratio(let ratio):
            if ratio >= 1 { return true }
            if ratio <= 0 { return false }
            // The low 63 bits of the trace id against the ratio of 2^63, as the other SDKs do.
            let bound = UInt64(ratio * Double(UInt64(1) << 63))
            return (traceID.low & ~(UInt64(1) << 63)) < bound
        }
    }

    public var description: String {
        let name: String
        switch root {
        case .alwaysOn: name = "always_on"
        case .alwaysOff: name = "always_off"
        case .ratio(let ratio): name = "traceidratio(\(ratio))"
        }
        return followsParent ? "parentbased_" + name : name
    }
}
