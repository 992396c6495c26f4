import ArgumentParser
import ChatterCore
import Gateway
import Hummingbird
import Logging

/// Runs every role in one process on the embedded store.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Chatter server (all roles, embedded store).")

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
        let app = try await buildApplication(configuration: configuration, logger: logger) { port in
            logger.notice("chatter is listening on http://\(host):\(port)")
        }
        // SIGTERM and SIGINT drain in-flight requests, close the store, then return: exit 0.
        try await app.runService()
    }
}
