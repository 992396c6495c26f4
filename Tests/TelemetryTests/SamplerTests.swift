import Testing

@testable import Telemetry

@Suite struct SamplerTests {
    let sampledParent = SpanContext(traceID: .random(), spanID: .random(), flags: 1, isRemote: true)
    let unsampledParent = SpanContext(traceID: .random(), spanID: .random(), flags: 0, isRemote: true)

    @Test func fixedSamplersIgnoreTheParent() {
        for parent in [nil, sampledParent, unsampledParent] {
            #expect(Sampler.alwaysOn.shouldSample(traceID: .random(), parent: parent))
            #expect(!Sampler.alwaysOff.shouldSample(traceID: .random(), parent: parent))
        }
    }

    @Test func parentBasedFollowsTheParentAndDecidesRootsWithItsRoot() {
        for sampler in [Sampler.parentBasedAlwaysOn, .parentBasedAlwaysOff, .parentBasedTraceIDRatio(0.5)] {
            #expect(sampler.shouldSample(traceID: .random(), parent: sampledParent))
            #expect(!sampler.shouldSample(traceID: .random(), parent: unsampledParent))
        }
        #expect(Sampler.parentBasedAlwaysOn.shouldSample(traceID: .random(), parent: nil))
        #expect(!Sampler.parentBasedAlwaysOff.shouldSample(traceID: .random(), parent: nil))
    }

    @Test func ratioDecidesFromTheLowBitsOfTheTraceID() {
        let ratio = Sampler.traceIDRatio(0.25)
        #expect(ratio.shouldSample(traceID: TraceID(high: 0, low: 1), parent: nil))
        #expect(!ratio.shouldSample(traceID: TraceID(high: 0, low: UInt64(1) << 62), parent: nil))
        // The top bit is ignored, so the decision is the same with or without it.
        #expect(ratio.shouldSample(traceID: TraceID(high: 0, low: (UInt64(1) << 63) | 1), parent: nil))
        #expect(Sampler.traceIDRatio(1).shouldSample(traceID: TraceID(high: 1, low: .max), parent: nil))
        #expect(!Sampler.traceIDRatio(0).shouldSample(traceID: TraceID(high: 1, low: 0), parent: nil))
        // Deterministic, and about right over many ids.
        let ids = (0..<4000).map { _ in TraceID.random() }
        let kept = ids.filter { ratio.shouldSample(traceID: $0, parent: nil) }.count
        #expect((600...1400).contains(kept))
        #expect(ids.filter { ratio.shouldSample(traceID: $0, parent: nil) }.count == kept)
    }
}
