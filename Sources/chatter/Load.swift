import ArgumentParser
import ChatterCore
import Foundation
import LoadGenerator

/// Drives a running server and checks that nothing acknowledged is lost, duplicated or reordered.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate chat load against a running server and check every delivery.",
        discussion: "Exits 0 when no acknowledged message was lost, duplicated or reordered; 1 otherwise.")

    @Option(help: "Server base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "Users, one WebSocket each.") var users = 200
    @Option(help: "Group chats the users are spread over.") var groups = 20
    @Option(help: "Total messages per second; 0 = as fast as acks return.") var rate = 1000
    @Option(help: "Seconds of sending.") var duration = 10.0
    @Option(help: "Seconds to wait for outstanding deliveries afterwards.") var drain = 5.0
    @Option(name: .customLong("server-pid"), help: "Server pid, to report its resident memory.") var serverPID: Int32?
    @Option(name: .customLong("idle-connections"), help: "Open this many idle authenticated sockets and report memory per socket.")
    var idleConnections = 0
    @Flag(name: .customLong("no-progress"), help: "No live progress line.") var noProgress = false
    @Flag(help: "Checker for fault injection: reopen closed sockets and sync, send unacknowledged messages again (same client_msg_id) until acknowledged; the verdict covers each user across its sockets.")
    var check = false

    func run() async throws {
        guard users > 0, groups > 0, rate >= 0, duration > 0, duration <= 3600, drain >= 0, idleConnections >= 0 else {
            throw ValidationError("users and groups must be positive, duration 0-3600 s")
        }
        // Pinned to one core by the benchmarks: one event loop there, not one per machine core.
        _ = EventLoopSetup.apply(try ChatterConfiguration(environment: ProcessInfo.processInfo.environment))
        var configuration = LoadConfiguration(baseURL: url, runID: "load\(Identifier.make().suffix(10))")
        configuration.users = users
        configuration.groups = groups
        configuration.rate = rate
        configuration.duration = duration
        configuration.drainSeconds = drain
        configuration.serverPID = serverPID
        configuration.idleConnections = idleConnections
        configuration.progress = !noProgress
        configuration.check = check
        let report = try await LoadRunner(configuration: configuration).run()
        print(report)
        if idleConnections == 0 && !report.passed { throw ExitCode(1) }
    }
}
