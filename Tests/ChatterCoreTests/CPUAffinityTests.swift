import ChatterCore
import Testing

@Suite struct CPUAffinityTests {
    @Test func countsTheCPUsOfTheAllowedList() {
        func count(_ list: String) -> Int? { CPUAffinity.allowedCount(status: "Name:\tchatter\nCpus_allowed:\t3\nCpus_allowed_list:\t\(list)\n") }
        #expect(count("0") == 1)
        #expect(count("0-1") == 2)
        #expect(count("0,2-5,7") == 6)
        #expect(count("3-1") == nil)
        #expect(CPUAffinity.allowedCount(status: "Name:\tchatter\n") == nil)
        #expect(CPUAffinity.allowedCount(status: nil) == nil)
    }

    @Test func readsThisProcessOnLinux() {
        #if os(Linux)
        #expect((CPUAffinity.allowedCount() ?? 0) >= 1)
        #endif
    }
}
