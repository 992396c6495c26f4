import ArgumentParser
import ChatterCore
import Foundation
import Logging
import Telemetry

/// Flags shared by the subcommands; each overrides its `CHATTER_*` environment variable.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory for the embedded store and keys (env CHATTER_DATA_DIR, default ./chatter-data).")
    var dataDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env CHATTER_LOG_LEVEL, default info).")
    var logLevel: String?

    func configuration() throws -> ChatterConfiguration {
        var configuration: ChatterConfiguration
        do {
            configuration = try ChatterConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        if let dataDirectory { configuration.dataDirectory = dataDirectory }
        if let logLevel { configuration.logLevel = logLevel }
        guard Logger.Level(rawValue: configuration.logLevel) != nil else {
            throw ValidationError("unknown log level '\(configuration.logLevel)'")
        }
        guard ["auto", "json", "text"].contains(configuration.logFormat) else {
            throw ValidationError("unknown log format '\(configuration.logFormat)' (json, text or auto)")
        }
        return configuration
    }

    /// Bootstraps logging once for the process: JSON lines for log shippers, or text on a terminal.
    func makeLogger(_ configuration: ChatterConfiguration) -> Logger {
        let json = configuration.logFormat == "json" || (configuration.logFormat == "auto" && isatty(STDERR_FILENO) == 0)
        let service = ProcessInfo.processInfo.environment["OTEL_SERVICE_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "chatter"
        if json {
            LoggingSystem.bootstrap({ label, provider in
                JSONLogHandler(label: label, serviceName: service, metadataProvider: provider)
            }, metadataProvider: OTLPTracing.loggingMetadataProvider)
        } else {
            LoggingSystem.bootstrap(StreamLogHandler.standardError, metadataProvider: OTLPTracing.loggingMetadataProvider)
        }
        var logger = Logger(label: "chatter")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return logger
    }
}
