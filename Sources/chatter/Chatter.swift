import ArgumentParser

@main
struct Chatter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatter",
        abstract: "A self-hostable messaging server.",
        subcommands: subcommands,
        defaultSubcommand: Serve.self)
}

extension Chatter {
    #if Kafka
    static let subcommands: [any ParsableCommand.Type] = [Serve.self, Migrate.self, Load.self, DevKafka.self]
    #else
    static let subcommands: [any ParsableCommand.Type] = [Serve.self, Migrate.self, Load.self]
    #endif
}
