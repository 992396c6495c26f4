import ArgumentParser
import ChatterCore
import Gateway
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs every role in one process on the embedded store.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Chatter server (all roles; embedded store, or PostgreSQL with CHATTER_DATABASE_URL).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (env CHATTER_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on, 0 for any free one (env CHATTER_PORT, default 8080).")
    var port: Int?

    func run() async throws {
        var configuration = try common.configuration()
        if let host { configuration.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("port must be 0-65535") }
            configuration.port = port
        }
        let logger = common.makeLogger(configuration)
        let host = configuration.host
        let (app, beforeShutdown) = try await buildServer(configuration: configuration, logger: logger) { port in
            logger.notice("chatter is listening on http://\(host):\(port)")
        }
        // SIGTERM or SIGINT: close WebSockets with "going away", then drain in-flight requests,
        // close the store, and return: exit 0.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        enum Finished { case server, signal }
        try await withThrowingTaskGroup(of: Finished.self) { tasks in
            tasks.addTask {
                try await group.run()
                return .server
            }
            tasks.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    logger.notice("shutting down", metadata: ["signal": "\(signal)"])
                    await beforeShutdown()
                    await group.triggerGracefulShutdown()
                    break
                }
                return .signal
            }
            // After a signal, wait for the drain to finish; if the server ends on its own
            // (say the port is taken), stop listening for signals.
            while let finished = try await tasks.next(), finished != .server {}
            tasks.cancelAll()
        }
    }
}
