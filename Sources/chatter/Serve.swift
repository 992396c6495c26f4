import ArgumentParser
import ChatterCore
import Foundation
import Gateway
import Hummingbird
import Logging
import ServiceLifecycle
import Telemetry
import UnixSignals

/// Runs Chatter: every role in one process (on the embedded store, or PostgreSQL/Kafka/Redis
/// when configured), or the roles named by `--role` as one process of a split deployment.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Chatter server: all roles (embedded store, or PostgreSQL/Kafka/Redis when configured), or those named by --role.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (env CHATTER_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on, 0 for any free one (env CHATTER_PORT, default 8080).")
    var port: Int?

    @Option(name: .customLong("role"), help: "Roles to run, a comma list of gateway, auth, chat, messaging, notification (env CHATTER_ROLES, default all).")
    var roles: String?

    func run() async throws {
        var configuration = try common.configuration()
        if let host { configuration.host = host }
        if let roles {
            do {
                configuration.roles = try Role.parseList(roles)
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
        }
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("port must be 0-65535") }
            configuration.port = port
        }
        let tracing: TracingConfiguration?
        do {
            tracing = try TracingConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        // Before anything uses the event loops.
        let eventLoops = EventLoopSetup.apply(configuration)
        let logger = common.makeLogger(configuration)
        logger.info("event loops", metadata: ["threads": "\(eventLoops)"])
        // Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set; then spans go to
        // the collector in batches, and the exporter flushes after the server has drained.
        let exporter = OTLPTracing.bootstrap(configuration: tracing, logger: logger)
        let host = configuration.host
        let metrics = ChatterMetrics()
        if let exporter { metrics.observe(exporter) }
        let (app, beforeShutdown) = try await buildServer(configuration: configuration, logger: logger, metrics: metrics) { port in
            logger.notice("chatter is listening on http://\(host):\(port)")
        }
        // SIGTERM or SIGINT: close WebSockets with "going away", then drain in-flight requests,
        // close the store, and return: exit 0.
        // Stopped in reverse order: the server drains first, then the exporter sends its last spans.
        var groupConfiguration = ServiceGroupConfiguration(
            services: (exporter.map { [$0 as any Service] } ?? []) + [app], gracefulShutdownSignals: [], logger: logger)
        // A graceful shutdown that outlasts its budget is escalated to cancellation.
        let shutdownTimeout = Duration.seconds(configuration.shutdownTimeoutSeconds)
        groupConfiguration.maximumGracefulShutdownDuration = shutdownTimeout
        let hardLimitSeconds = configuration.shutdownTimeoutSeconds + 5
        let group = ServiceGroup(configuration: groupConfiguration)
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
                    // The last resort: something ignored cancellation too. Say so and exit rather
                    // than hang; this sleep is cancelled as soon as the server has stopped.
                    try? await Task.sleep(for: .seconds(hardLimitSeconds))
                    if !Task.isCancelled {
                        logger.critical("shutdown did not finish in time; exiting", metadata: ["timeout_s": "\(hardLimitSeconds)"])
                        Foundation.exit(1)
                    }
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
