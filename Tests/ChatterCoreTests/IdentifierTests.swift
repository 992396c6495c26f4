import ChatterCore
import Testing

@Suite struct IdentifierTests {
    @Test func makesVersion7UUIDs() {
        let id = Identifier.make(at: Timestamp(millisecondsSinceEpoch: 0x0123_4567_89AB))
        let parts = id.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(id.hasPrefix("01234567-89ab-7"))
        #expect(["8", "9", "a", "b"].contains(parts[3].first.map(String.init)))
    }

    @Test func idsSortByCreationTime() {
        let earlier = Identifier.make(at: Timestamp(millisecondsSinceEpoch: 1_000))
        let later = Identifier.make(at: Timestamp(millisecondsSinceEpoch: 2_000))
        #expect(earlier < later)
    }

    @Test func idsAreUnique() {
        let now = Timestamp.now()
        let ids = Set((0..<10_000).map { _ in Identifier.make(at: now) })
        #expect(ids.count == 10_000)
    }

    @Test func base64URLRoundTripsAndRejectsForeignAlphabets() {
        for length in 0..<40 {
            let bytes = Identifier.randomBytes(length)
            let encoded = Base64URL.encode(bytes)
            #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
            #expect(Base64URL.decode(encoded) == bytes)
        }
        #expect(Base64URL.decode("ab+c") == nil)
        #expect(Base64URL.decode("abc=") == nil)
        #expect(Base64URL.decode("a") == nil)
    }
}
