#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Prometheus
import Synchronization

/// The standard `process_*` metrics (the names every Prometheus client library uses, so stock
/// dashboards work), read from `/proc/self` at scrape time. Elsewhere they stay at 0.
final class ProcessMetrics: Sendable {
    let cpu: Counter
    let resident: Gauge
    let virtual: Gauge
    let openFDs: Gauge
    let maxFDs: Gauge
    let startTime: Gauge
    /// CPU seconds already added to the counter, so each scrape adds only the difference.
    private let reportedCPU = Mutex<Double>(0)

    init(registry: PrometheusCollectorRegistry) {
        cpu = registry.makeCounter(descriptor: .chatter(
            "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds."))
        resident = registry.makeGauge(descriptor: .chatter(
            "process_resident_memory_bytes", help: "Resident memory size in bytes."))
        virtual = registry.makeGauge(descriptor: .chatter("process_virtual_memory_bytes", help: "Virtual memory size in bytes."))
        openFDs = registry.makeGauge(descriptor: .chatter("process_open_fds", help: "Number of open file descriptors."))
        maxFDs = registry.makeGauge(descriptor: .chatter("process_max_fds", help: "Maximum number of open file descriptors."))
        startTime = registry.makeGauge(descriptor: .chatter(
            "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds."))
        if let started = Self.startTimeSeconds() { startTime.set(started) }
    }

    func update() {
        guard let stat = Self.selfStat() else { return }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let total = Double(stat.utime + stat.stime) / ticks
        let delta = reportedCPU.withLock { reported -> Double in
            let delta = total - reported
            if delta > 0 { reported = total }
            return delta
        }
        if delta > 0 { cpu.increment(by: delta) }
        resident.set(Double(stat.rssPages) * Double(sysconf(Int32(_SC_PAGESIZE))))
        virtual.set(Double(stat.vsize))
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.set(Double(entries.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.set(Double(limit.rlim_cur)) }
    }

    struct Stat {
        var utime: UInt64
        var stime: UInt64
        var startTicks: UInt64
        var vsize: UInt64
        var rssPages: UInt64
    }

    /// Fields of `/proc/self/stat` (proc(5)); the command name may hold spaces and parentheses,
    /// so fields are counted from the last `)`.
    static func selfStat() -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8) else { return nil }
        return parseStat(text)
    }

    static func parseStat(_ text: String) -> Stat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): field n is fields[n - 3].
        func field(_ n: Int) -> UInt64? { fields.count > n - 3 ? UInt64(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24)
        else { return nil }
        return Stat(utime: utime, stime: stime, startTicks: start, vsize: vsize, rssPages: rss)
    }

    static func startTimeSeconds() -> Double? {
        guard let stat = selfStat(),
              let uptime = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)
                .split(separator: "\n").first(where: { $0.hasPrefix("btime ") })?
                .split(separator: " ").last.flatMap({ Double($0) })
        else { return nil }
        return uptime + Double(stat.startTicks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
