import Testing

@testable import ChatterCore

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

    /// The digit-writing formatter agrees with the C library's calendar: leap days, century
    /// rules, month ends, before the epoch, and a spread of instants over four centuries.
    @Test func agreesWithTheCalendarEverywhere() {
        var instants: [Int64] = [
            0, -1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 4_102_444_799_999, -2_208_988_800_000,
            -62_135_596_800_000, 253_402_300_799_999, 1_709_164_800_000, 1_709_251_199_999,
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 { instants.append(Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator)) }
        for millis in instants {
            let value = Timestamp(millisecondsSinceEpoch: millis)
            #expect(value.rfc3339 == value.calendarRFC3339, "\(millis)")
        }
        // Past year 9999 the calendar's text is used.
        let far = Timestamp(millisecondsSinceEpoch: 253_402_300_800_000)
        #expect(far.rfc3339 == far.calendarRFC3339)
        #expect(far.rfc3339.hasPrefix("10000-01-01T00:00:00.000Z"))
    }
}
