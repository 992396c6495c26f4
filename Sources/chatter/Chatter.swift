import ArgumentParser

@main
struct Chatter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatter",
        abstract: "A self-hostable messaging server.",
        subcommands: [Serve.self, Migrate.self, Load.self],
        defaultSubcommand: Serve.self)
}
