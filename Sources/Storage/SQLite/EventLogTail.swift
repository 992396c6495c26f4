import ChatterCore

/// The newest records of each partition, kept in memory so a consumer at the head of the log
/// gets new records without a database read.
///
/// Holds only committed records, contiguous per partition from `first` on. A record that does
/// not continue its partition's run (publishes finishing out of order) restarts the run; older
/// offsets are then read from the table, so the tail is only ever a shortcut, never the source
/// of truth.
struct EventLogTail {
    private struct Run {
        var first: Int64
        var records: [EventRecord] = []
        var next: Int64 { first + Int64(records.count) }

        mutating func append(_ record: EventRecord, capacity: Int) {
            // Older than the run (an earlier publish finishing late) or already held: readers
            // below `first` go to the table anyway.
            if record.offset < next { return }
            if record.offset > next {
                first = record.offset
                records.removeAll(keepingCapacity: true)
            }
            records.append(record)
            if records.count > capacity {
                let drop = records.count - capacity / 2
                records.removeFirst(drop)
                first += Int64(drop)
            }
        }
    }

    /// Records kept per partition.
    let capacity: Int
    private var runs: [String: [Int: Run]] = [:]

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    mutating func append(_ record: EventRecord) {
        // Mutated in place: copying a run out of the dictionary would copy its records.
        runs[record.topic, default: [:]][record.partition, default: Run(first: record.offset)].append(record, capacity: capacity)
    }

    /// Records that nothing is committed at or after `head` in `partition` (a table read just
    /// reached the end there), unless appends already started a run for it.
    mutating func seed(topic: String, partition: Int, head: Int64) {
        guard runs[topic]?[partition] == nil else { return }
        runs[topic, default: [:]][partition] = Run(first: head)
    }

    /// Records of `topic` from each partition's `position` on (up to `limit` in all), or nil
    /// when the tail cannot tell for some partition (never seen, or the position lies before
    /// what it holds) and only the table can answer.
    func records(topic: String, from positions: [Int: Int64], limit: Int) -> [EventRecord]? {
        var result: [EventRecord] = []
        let partitionRuns = runs[topic] ?? [:]
        for (partition, position) in positions.sorted(by: { $0.key < $1.key }) {
            guard let run = partitionRuns[partition], position >= run.first else { return nil }
            guard position < run.next, result.count < limit else { continue }
            let start = Int(position - run.first)
            let end = min(run.records.count, start + limit - result.count)
            result.append(contentsOf: run.records[start..<end])
        }
        return result
    }
}
