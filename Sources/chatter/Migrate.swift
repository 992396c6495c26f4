import ArgumentParser
import ChatterCore
import Gateway
import Logging
import PostgresStorage
import SQLiteStorage

/// Applies pending schema migrations and exits: to PostgreSQL when `CHATTER_DATABASE_URL` is
/// set (the server does the same at start; running it first lets a deployment migrate once,
/// before rolling out new instances), and always to the embedded store in the data directory.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        let logger = common.makeLogger(configuration)
        let store = try await openStore(configuration: configuration, logger: logger)
        let versions = try await store.appliedMigrations()
        await store.close()
        print("schema at version \(versions.last ?? 0) (\(versions.count) migrations applied) in \(store.path)")
        if let url = configuration.databaseURL {
            let postgres = PostgresStore(configuration: try PostgresConfiguration(url: url), logger: logger)
            let versions = try await postgres.migrateBeforeRunning()
            print("schema at version \(versions.last ?? 0) (\(versions.count) migrations applied) in PostgreSQL database \(postgres.configuration.database)")
        }
    }
}
