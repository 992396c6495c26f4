import ChatterCore
@testable import Gateway
import ServiceClient
import Testing

/// `UpstreamPoolState` alone: round robin, health, exclusions.
@Suite struct ProxyBalancerTests {
    let a = ServiceEndpoint(host: "10.0.0.1", port: 8080)
    let b = ServiceEndpoint(host: "10.0.0.2", port: 8080)
    let c = ServiceEndpoint(host: "10.0.0.3", port: 8080)

    @Test func roundRobinTakesTurns() {
        var state = UpstreamPoolState(upstreams: [.chat: [a, b, c]])
        let picks = (0..<6).map { _ in state.next(for: .chat) }
        #expect(picks == [a, b, c, a, b, c])
    }

    @Test func downInstancesAreSkippedAndRecover() {
        var state = UpstreamPoolState(upstreams: [.chat: [a, b, c]])
        #expect(state.report(b, up: false) == .wentDown)
        #expect(state.report(b, up: false) == nil)  // reported once
        #expect((0..<4).map { _ in state.next(for: .chat) } == [a, c, a, c])
        #expect(state.report(b, up: true) == .cameUp)
        #expect(state.report(b, up: true) == nil)
        #expect((0..<3).map { _ in state.next(for: .chat) } == [a, b, c])
    }

    @Test func noneUpMeansNone() {
        var state = UpstreamPoolState(upstreams: [.chat: [a, b], .auth: []])
        state.report(a, up: false)
        state.report(b, up: false)
        #expect(state.next(for: .chat) == nil)
        #expect(state.next(for: .auth) == nil)
        #expect(state.next(for: .messaging) == nil)
    }

    @Test func retriesExcludeInstancesAlreadyTried() {
        var state = UpstreamPoolState(upstreams: [.chat: [a, b, c]])
        #expect(state.next(for: .chat) == a)
        #expect(state.next(for: .chat, excluding: [a, b]) == c)
        #expect(state.next(for: .chat, excluding: [a, b, c]) == nil)
        #expect(state.next(for: .chat) == a)  // the turn continues after c
    }

    @Test func healthBelongsToTheInstanceNotTheRole() {
        var state = UpstreamPoolState(upstreams: [.chat: [a, b], .messaging: [a]])
        #expect(state.endpoints == [a, b])  // probed once each
        state.report(a, up: false)
        #expect(state.next(for: .messaging) == nil)
        #expect(state.next(for: .chat) == b)
    }

    @Test func theLockedBalancerDelegates() {
        let balancer = UpstreamBalancer(upstreams: [.chat: [a, b]])
        #expect(balancer.next(for: .chat) == a)
        #expect(balancer.report(b, up: false) == .wentDown)
        #expect(!balancer.isUp(b))
        #expect(balancer.next(for: .chat) == a)
    }

    @Test func oneFailedProbeIsNotAnOutageTwoAre() {
        let a = ServiceEndpoint(host: "10.0.0.1", port: 1)
        var state = UpstreamPoolState(upstreams: [.chat: [a]])
        #expect(state.reportProbe(a, up: false) == nil)
        #expect(state.isUp(a))
        #expect(state.reportProbe(a, up: true) == nil)  // the strike is forgotten
        #expect(state.reportProbe(a, up: false) == nil)
        #expect(state.reportProbe(a, up: false) == .wentDown)
        #expect(!state.isUp(a))
        #expect(state.reportProbe(a, up: true) == .cameUp)
        // A request that cannot connect is definite: down at once.
        #expect(state.report(a, up: false) == .wentDown)
    }
}
