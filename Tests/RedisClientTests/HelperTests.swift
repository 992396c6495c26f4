import Testing

@testable import RedisClient

@Suite("Helpers")
struct HelperTests {
    @Test func scriptDigestIsSHA1() {
        // Digests as `redis-cli SCRIPT LOAD` and `sha1sum` give them.
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }

    @Test func expiriesAreWholeMillisecondsRoundedUp() throws {
        #expect(try RedisClient.milliseconds(.seconds(2)) == "2000")
        #expect(try RedisClient.milliseconds(.milliseconds(1500)) == "1500")
        #expect(try RedisClient.milliseconds(.nanoseconds(1)) == "1")
        #expect(try RedisClient.milliseconds(.microseconds(1001)) == "2")
        #expect(throws: RedisError.self) { try RedisClient.milliseconds(.zero) }
        #expect(throws: RedisError.self) { try RedisClient.milliseconds(.seconds(-1)) }
    }

    @Test func serverErrorPrefix() {
        let error = RedisError(.serverError, "NOSCRIPT No matching script. Please use EVAL.")
        #expect(error.serverErrorPrefix == "NOSCRIPT")
        #expect(RedisError(.timeout, "NOSCRIPT").serverErrorPrefix == nil)
        #expect(error.description == "RedisError(serverError)")
        #expect(error.debugDescription.contains("No matching script"))
    }
}
