import ChatterCore
@testable import SQLiteStorage
import Testing

@Suite struct EventLogTailTests {
    func record(_ partition: Int, _ offset: Int64) -> EventRecord {
        EventRecord(topic: "t", partition: partition, offset: offset, key: "k\(partition)", payload: "\(partition):\(offset)")
    }

    @Test func answersOnlyForContiguousRunsItHolds() {
        var tail = EventLogTail(capacity: 8)
        #expect(tail.records(topic: "t", from: [0: 0], limit: 10) == nil, "never seen: ask the table")
        tail.seed(topic: "t", partition: 0, head: 5)
        #expect(tail.records(topic: "t", from: [0: 5], limit: 10) == [], "at the head: nothing new")
        #expect(tail.records(topic: "t", from: [0: 4], limit: 10) == nil, "before the run")
        tail.append(record(0, 5))
        tail.append(record(0, 6))
        #expect(tail.records(topic: "t", from: [0: 5], limit: 10)?.map(\.offset) == [5, 6])
        #expect(tail.records(topic: "t", from: [0: 6], limit: 1)?.map(\.offset) == [6])
        #expect(tail.records(topic: "t", from: [0: 5], limit: 1)?.map(\.offset) == [5])
    }

    @Test func aGapRestartsTheRunAndLateOlderRecordsAreIgnored() {
        var tail = EventLogTail(capacity: 8)
        tail.seed(topic: "t", partition: 0, head: 0)
        tail.append(record(0, 0))
        tail.append(record(0, 2))  // 1 was committed by someone else: the run restarts at 2
        #expect(tail.records(topic: "t", from: [0: 1], limit: 10) == nil)
        #expect(tail.records(topic: "t", from: [0: 2], limit: 10)?.map(\.offset) == [2])
        tail.append(record(0, 1))  // finishing late: already behind the run
        #expect(tail.records(topic: "t", from: [0: 2], limit: 10)?.map(\.offset) == [2])
        tail.seed(topic: "t", partition: 0, head: 9)  // a run exists: seeding does nothing
        #expect(tail.records(topic: "t", from: [0: 3], limit: 10) == [])
    }

    @Test func staysBoundedAndMultiplePartitionsCombine() {
        var tail = EventLogTail(capacity: 4)
        tail.seed(topic: "t", partition: 1, head: 0)
        for offset in 0..<10 { tail.append(record(0, Int64(offset))) }
        #expect(tail.records(topic: "t", from: [0: 0, 1: 0], limit: 10) == nil, "dropped from memory")
        let recent = tail.records(topic: "t", from: [0: 8, 1: 0], limit: 10)
        #expect(recent?.map(\.offset) == [8, 9])
        tail.append(record(1, 0))
        #expect(tail.records(topic: "t", from: [0: 9, 1: 0], limit: 10)?.map(\.payload) == ["0:9", "1:0"])
    }
}
