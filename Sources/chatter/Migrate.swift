import ArgumentParser
import ChatterCore
import Gateway
import SQLiteStorage

/// Applies pending schema migrations to the embedded store and exits.
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
    }
}
