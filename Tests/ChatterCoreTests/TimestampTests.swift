import ChatterCore
import Testing

@Suite struct TimestampTests {
    @Test func formatsRFC3339WithMilliseconds() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_795_693_177_736).rfc3339 == "2026-11-26T11:39:37.736Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
    }

    @Test func parsesWhatItWrites() throws {
        for millis: Int64 in [0, 1, 999, 1_795_693_177_736, 4_102_444_800_000] {
            let value = Timestamp(millisecondsSinceEpoch: millis)
            #expect(Timestamp(rfc3339: value.rfc3339) == value)
        }
        #expect(Timestamp(rfc3339: "2026-11-26T11:39:37Z")?.millisecondsSinceEpoch == 1_795_693_177_000)
        #expect(Timestamp(rfc3339: "2026-11-26T11:39:37.7Z")?.millisecondsSinceEpoch == 1_795_693_177_700)
    }

    @Test(arguments: ["", "yesterday", "2026-11-26 08:59:37Z", "2026-11-26T08:59:37+01:00", "2026-11-26T08:59:37.Z", "2026-1x-26T08:59:37Z"])
    func rejectsOtherForms(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }
}
