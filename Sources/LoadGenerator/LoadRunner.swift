import ChatterCore
import Foundation

/// What a run measured.
public struct LoadReport: Sendable, CustomStringConvertible {
    public var users = 0
    public var groups = 0
    public var seconds = 0.0
    public var sent = 0
    public var acked = 0
    public var sendErrors = 0
    /// Check mode: sends sent again until acknowledged, and sockets reopened.
    public var resent = 0
    public var reconnects = 0
    public var delivered = 0
    public var expectedDeliveries = 0
    /// Acked, delivered to no connection, and absent from history (see `DeliveryLedger`).
    public var lost = 0
    /// Acked messages a member's connection had not received by the end, per connection.
    public var unseen = 0
    public var duplicates = 0
    public var reordered = 0
    public var latencyP50 = 0.0, latencyP95 = 0.0, latencyP99 = 0.0, latencyMax = 0.0
    /// Send → ack: the write path's share of the latency above.
    public var ackP50 = 0.0, ackP95 = 0.0, ackP99 = 0.0, ackMax = 0.0
    public var serverRSSKiB: Int?
    /// Server CPU (user + system) spent while sending, per delivery, when its pid is known.
    public var serverCPUMicrosPerDelivery: Double?
    public var idleConnections = 0
    public var kibPerIdleConnection: Double?

    /// No acknowledged message lost, unseen, duplicated or reordered, and every send acknowledged.
    public var passed: Bool {
        lost == 0 && unseen == 0 && duplicates == 0 && reordered == 0 && sendErrors == 0 && acked == sent
    }

    public var description: String {
        if idleConnections > 0 {
            return """
                idle connections   \(idleConnections)
                server RSS         \(serverRSSKiB.map { "\($0) KiB" } ?? "n/a")
                KiB per connection \(kibPerIdleConnection.map { String(format: "%.1f", $0) } ?? "n/a")
                """
        }
        return """
            users/groups       \(users) in \(groups) groups
            duration           \(String(format: "%.1f", seconds)) s
            sent / acked       \(sent) / \(acked) (\(String(format: "%.0f", Double(acked) / max(seconds, 0.001))) acks/s), errors \(sendErrors)
            resent/reconnects  \(resent) / \(reconnects)
            delivered          \(delivered) of \(expectedDeliveries) expected (\(String(format: "%.0f", Double(delivered) / max(seconds, 0.001))) deliveries/s)
            send→deliver ms    p50 \(fmt(latencyP50))  p95 \(fmt(latencyP95))  p99 \(fmt(latencyP99))  max \(fmt(latencyMax))
            send→ack ms        p50 \(fmt(ackP50))  p95 \(fmt(ackP95))  p99 \(fmt(ackP99))  max \(fmt(ackMax))
            lost               \(lost)
            unseen             \(unseen)
            duplicated         \(duplicates)
            reordered          \(reordered)
            server RSS         \(serverRSSKiB.map { "\($0) KiB" } ?? "n/a")
            server CPU         \(serverCPUMicrosPerDelivery.map { String(format: "%.1f µs per delivery", $0) } ?? "n/a")
            verdict            \(passed ? "PASS" : "FAIL")
            """
    }

    private func fmt(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// Drives a running server: registers users, puts them in group chats, connects a WebSocket
/// each, sends at a fixed or maximal rate for a bounded time, and checks every delivery.
public struct LoadRunner: Sendable {
    let configuration: LoadConfiguration

    public init(configuration: LoadConfiguration) {
        self.configuration = configuration
    }

    public func run() async throws -> LoadReport {
        configuration.idleConnections > 0 ? try await runIdle() : try await runTraffic()
    }

    private var webSocketURL: String {
        configuration.baseURL.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://") + "/v1/ws"
    }

    private func registerUsers(_ count: Int, setup: HTTPSetup) async throws -> [HTTPSetup.Account] {
        try await withThrowingTaskGroup(of: (Int, HTTPSetup.Account).self) { group in
            var accounts = [HTTPSetup.Account?](repeating: nil, count: count)
            var next = 0
            // A few at a time: registration is bcrypt-bound on the server.
            for _ in 0..<min(8, count) {
                let index = next
                group.addTask { (index, try await setup.register(username: "\(configuration.runID)_\(index)")) }
                next += 1
            }
            while let (index, account) = try await group.next() {
                accounts[index] = account
                if next < count {
                    let index = next
                    group.addTask { (index, try await setup.register(username: "\(configuration.runID)_\(index)")) }
                    next += 1
                }
            }
            return accounts.compactMap { $0 }
        }
    }

    private func runTraffic() async throws -> LoadReport {
        let setup = HTTPSetup(baseURL: configuration.baseURL)
        let users = max(1, configuration.users)
        let groups = max(1, min(configuration.groups, users))
        progress("registering \(users) users…")
        let accounts = try await registerUsers(users, setup: setup)
        var chatOfUser = [String](repeating: "", count: users)
        var membersOfChat: [String: Int] = [:]
        var ownerOfChat: [String: HTTPSetup.Account] = [:]
        for group in 0..<groups {
            let memberIndexes = Array(stride(from: group, to: users, by: groups))
            let chatID = try await setup.createGroup(
                owner: accounts[memberIndexes[0]], title: "load \(group)", members: memberIndexes.dropFirst().map { accounts[$0].userID })
            for index in memberIndexes { chatOfUser[index] = chatID }
            membersOfChat[chatID] = memberIndexes.count
            ownerOfChat[chatID] = accounts[memberIndexes[0]]
        }
        let ledger = DeliveryLedger()
        let connections = (0..<users).map {
            LoadConnection(
                index: $0, chatID: chatOfUser[$0], members: membersOfChat[chatOfUser[$0]] ?? 1, ledger: ledger,
                check: configuration.check, resendAfter: configuration.resendAfter)
        }
        var report = LoadReport()
        report.users = users
        report.groups = groups
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask { await connection.run(url: webSocketURL, token: accounts[index].token) }
            }
            progress("connecting \(users) sockets…")
            for connection in connections {
                guard await connection.wait(timeout: .seconds(30), until: { connection.isReady || connection.isClosed }), connection.isReady else {
                    throw HTTPSetup.SetupError(description: "a WebSocket did not become ready")
                }
            }
            let cpuBefore = configuration.serverPID.flatMap(ProcessMemory.cpuMicroseconds(pid:))
            let started = ContinuousClock.now
            let sendUntil = started + .milliseconds(Int(configuration.duration * 1000))
            try await withThrowingTaskGroup(of: Void.self) { senders in
                // The reporter runs until cancelled, so the first `senderCount` results are senders.
                senders.addTask { await reportProgress(ledger: ledger, started: started) }
                var senderCount = 0
                if configuration.rate > 0 {
                    senders.addTask { await sendAtFixedRate(connections, from: started, until: sendUntil) }
                    senderCount = 1
                } else {
                    for connection in connections {
                        senders.addTask { await sendClosedLoop(connection, until: sendUntil) }
                    }
                    senderCount = connections.count
                }
                for _ in 0..<senderCount { try await senders.next() }
                senders.cancelAll()
            }
            report.seconds = (ContinuousClock.now - started).seconds
            // Drain: wait for every expected delivery, bounded.
            let drainDeadline = ContinuousClock.now + .milliseconds(Int(configuration.drainSeconds * 1000))
            while ContinuousClock.now < drainDeadline {
                let totals = ledger.totals
                if configuration.check {
                    // Through faults, counts can include replays: done when every send is
                    // acknowledged and every client has every acknowledged message.
                    if totals.acked >= totals.sent,
                       connections.allSatisfy({ ledger.missing(connection: $0.index, chatID: $0.chatID) == 0 }) { break }
                    try await Task.sleep(for: .milliseconds(200))
                    continue
                }
                if totals.acked + totals.sendErrors >= totals.sent && totals.delivered >= totals.expectedDeliveries { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            if let cpuBefore, let cpuAfter = configuration.serverPID.flatMap(ProcessMemory.cpuMicroseconds(pid:)) {
                report.serverCPUMicrosPerDelivery = Double(cpuAfter - cpuBefore) / Double(max(1, ledger.totals.delivered))
            }
            for connection in connections { await connection.close() }
            group.cancelAll()
        }
        let totals = ledger.totals
        report.sent = totals.sent
        report.acked = totals.acked
        report.sendErrors = totals.sendErrors
        report.resent = totals.resent
        report.reconnects = totals.reconnects
        report.delivered = totals.delivered
        report.expectedDeliveries = totals.expectedDeliveries
        report.duplicates = totals.duplicates
        report.reordered = totals.reordered
        report.unseen = connections.reduce(0) { $0 + ledger.missing(connection: $1.index, chatID: $1.chatID) }
        // What no connection received is lost only if the server does not have it either.
        for (chatID, seqs) in ledger.undelivered() {
            guard let owner = ownerOfChat[chatID] else { continue }
            let stored = try await setup.allSeqs(chatID: chatID, token: owner.token)
            report.lost += seqs.subtracting(stored).count
        }
        let percentiles = ledger.latencyMilliseconds([50, 95, 99])
        (report.latencyP50, report.latencyP95, report.latencyP99) = (percentiles[0], percentiles[1], percentiles[2])
        report.latencyMax = ledger.maxLatencyMilliseconds()
        let ack = ledger.latencyMilliseconds([50, 95, 99], of: .ack)
        (report.ackP50, report.ackP95, report.ackP99) = (ack[0], ack[1], ack[2])
        report.ackMax = ledger.maxLatencyMilliseconds(of: .ack)
        report.serverRSSKiB = configuration.serverPID.flatMap(ProcessMemory.residentKiB(pid:))
        return report
    }

    /// Paced by a millisecond event-loop tick that sends whatever has come due. A `Task.sleep`
    /// per send was a Dispatch timer per send: 9% of the generator's CPU at 1 000 msg/s, on the
    /// core whose own queueing shows up in the latencies it measures. A send goes out at most a
    /// tick late, and its latency is timed from when it actually went. The schedule starts at
    /// `start`, so a run sends `rate × duration` messages however late this task began.
    private func sendAtFixedRate(_ connections: [LoadConnection], from start: ContinuousClock.Instant,
                                 until end: ContinuousClock.Instant) async {
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(max(1, configuration.rate)))
        var next = start
        var count = 0
        func sendDue() async {
            while next < end, next <= ContinuousClock.now, !Task.isCancelled {
                let connection = connections[count % connections.count]
                await connection.send(body: "load message \(count)", clientMsgID: "\(configuration.runID)-\(count)")
                count += 1
                next += interval
            }
        }
        await sendDue()
        for await _ in Ticks(every: .milliseconds(1)) {
            guard next < end, !Task.isCancelled else { return }
            await sendDue()
        }
    }

    private func sendClosedLoop(_ connection: LoadConnection, until end: ContinuousClock.Instant) async {
        var count = 0
        while ContinuousClock.now < end, !Task.isCancelled, !connection.isClosed {
            let expected = connection.ackCount + 1
            await connection.send(body: "load message \(count)", clientMsgID: "\(configuration.runID)-\(connection.index)-\(count)")
            count += 1
            _ = await connection.wait(timeout: .seconds(10)) { connection.ackCount >= expected || connection.isClosed }
        }
    }

    private func reportProgress(ledger: DeliveryLedger, started: ContinuousClock.Instant) async {
        guard configuration.progress else {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { break }
            let totals = ledger.totals
            let p99 = ledger.latencyMilliseconds([99])[0]
            let elapsed = (ContinuousClock.now - started).seconds
            FileHandle.standardError.write(Data(String(
                format: "\r[%5.1fs] sent %d  acked %d  delivered %d/%d  p99 %.2f ms  dup %d  reorder %d   ",
                elapsed, totals.sent, totals.acked, totals.delivered, totals.expectedDeliveries, p99, totals.duplicates, totals.reordered
            ).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func runIdle() async throws -> LoadReport {
        let setup = HTTPSetup(baseURL: configuration.baseURL)
        let accountCount = min(10, configuration.idleConnections)
        progress("registering \(accountCount) users…")
        let accounts = try await registerUsers(accountCount, setup: setup)
        let ledger = DeliveryLedger()
        let before = configuration.serverPID.flatMap(ProcessMemory.residentKiB(pid:))
        var report = LoadReport()
        report.idleConnections = configuration.idleConnections
        let connections = (0..<configuration.idleConnections).map { LoadConnection(index: $0, chatID: "", members: 0, ledger: ledger) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask { await connection.run(url: webSocketURL, token: accounts[index % accounts.count].token) }
                if index % 100 == 99 {
                    _ = await connection.wait(timeout: .seconds(30)) { connection.isReady || connection.isClosed }
                    progress("\(index + 1) sockets open…")
                }
            }
            var ready = 0
            for connection in connections where await connection.wait(timeout: .seconds(60), until: { connection.isReady || connection.isClosed }) {
                if connection.isReady { ready += 1 }
            }
            guard ready == connections.count else {
                throw HTTPSetup.SetupError(description: "only \(ready) of \(connections.count) sockets became ready")
            }
            try await Task.sleep(for: .seconds(2))
            let after = configuration.serverPID.flatMap(ProcessMemory.residentKiB(pid:))
            report.serverRSSKiB = after
            if let before, let after {
                report.kibPerIdleConnection = Double(after - before) / Double(connections.count)
            }
            for connection in connections { await connection.close() }
            group.cancelAll()
        }
        return report
    }

    private func progress(_ line: String) {
        guard configuration.progress else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

enum ProcessMemory {
    /// User + system CPU time of a process from /proc/<pid>/stat, in microseconds.
    static func cpuMicroseconds(pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start at field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) * 1_000_000 / max(1, ticksPerSecond)
    }

    /// VmRSS of a process from /proc, in KiB.
    static func residentKiB(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
