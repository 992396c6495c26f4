import Instrumentation
import ServiceContextModule
import Testing
import Tracing

@testable import Telemetry

@Suite struct TraceParentTests {
    static let valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    @Test func parsesAndFormatsTheSpecExample() throws {
        let context = try #require(TraceParent.parse(Self.valid, traceState: "congo=t61rcWkgMzE"))
        #expect(context.traceID.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(context.spanID.hex == "b7ad6b7169203331")
        #expect(context.isSampled)
        #expect(context.isRemote)
        #expect(context.traceState == "congo=t61rcWkgMzE")
        #expect(TraceParent.format(context) == Self.valid)
    }

    @Test func roundTripsRandomIdsAndFlags() throws {
        for flags: UInt8 in [0, 1, 0x02, 0xff] {
            let context = SpanContext(traceID: .random(), spanID: .random(), flags: flags)
            let header = TraceParent.format(context)
            let parsed = try #require(TraceParent.parse(header))
            #expect(parsed.traceID == context.traceID)
            #expect(parsed.spanID == context.spanID)
            #expect(parsed.flags == flags)
        }
    }

    @Test(arguments: [
        "",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // unknown version
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // forbidden version
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  // uppercase
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  // zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  // zero span id
        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  // short trace id
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",  // short span id
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",  // short flags
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",  // not hex
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
    ])
    func rejectsInvalidHeaders(_ header: String) {
        #expect(TraceParent.parse(header) == nil)
        #expect(serviceContext(fromTraceparent: header) == nil)
    }

    @Test func publicHelpersRoundTrip() throws {
        let context = try #require(serviceContext(fromTraceparent: Self.valid))
        #expect(traceparent(of: context) == Self.valid)
        #expect(traceparent(of: .topLevel) == nil)
        let ids = try #require(context.traceIDs)
        #expect(ids.traceID == "0af7651916cd43dd8448eb211c80319c")
        #expect(ids.spanID == "b7ad6b7169203331")
    }

    @Test func currentTraceIDsFollowTheTaskLocalContext() throws {
        #expect(ServiceContext.currentTraceIDs() == nil)
        let context = try #require(serviceContext(fromTraceparent: Self.valid))
        ServiceContext.withValue(context) {
            #expect(ServiceContext.currentTraceIDs()?.spanID == "b7ad6b7169203331")
        }
    }

    @Test func overlongTraceStateIsDropped() throws {
        let context = try #require(TraceParent.parse(Self.valid, traceState: String(repeating: "a", count: 600)))
        #expect(context.traceState == "")
    }
}
