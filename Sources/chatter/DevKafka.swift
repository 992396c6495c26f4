#if Kafka
import ArgumentParser
import ChatterCore
import Foundation
import KafkaEventLog
import Logging
import UnixSignals

/// `chatter dev-kafka`: a Kafka cluster for development with no broker installed (librdkafka's
/// mock cluster, in memory). Prints the bootstrap servers as the only line on stdout, so a
/// script can read them into `CHATTER_KAFKA_BROKERS`, and runs until SIGINT or SIGTERM.
/// SIGUSR1 takes broker 1 down, SIGUSR2 brings every broker up (fault injection from outside).
struct DevKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-kafka",
        abstract: "Start an in-memory Kafka mock cluster and print its bootstrap servers.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(help: "Partitions of the topics created at start (env CHATTER_KAFKA_PARTITIONS, default 6).")
    var partitions: Int?

    @Option(name: .customLong("topic"), help: "A topic to create at start (repeatable; default: Chatter's chat events topic).")
    var topics: [String] = [ChatEvent.topic]

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("brokers must be 1-32") }
        if let partitions, partitions < 1 { throw ValidationError("partitions must be at least 1") }
    }

    func run() async throws {
        let configuration = try common.configuration()
        let logger = common.makeLogger(configuration)
        let environment = ProcessInfo.processInfo.environment
        let partitions = self.partitions ?? environment["CHATTER_KAFKA_PARTITIONS"].flatMap { Int($0) } ?? 6
        // Trapped, and proven trapped, before the line goes out: a script may signal as soon as
        // it has read it. On Linux a signal sent to the process could still meet its default
        // action for a moment after the registration `UnixSignalsSequence` waits for (a SIGTERM
        // sent right after the line ended the process in most tries), and SIGTERM's default ends
        // it without stopping the cluster. So SIGWINCH, whose default is to be ignored, is sent
        // to the process (the way an outside signal comes) until it comes through the sequence.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sigusr1, .sigusr2, .sigwinch)
        var incoming = signals.makeAsyncIterator()
        guard await Self.signalsArrive(&incoming) else { return }
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        // The mock creates topics only through its own API (it does not serve CreateTopics):
        // create Chatter's up front with the partitions and replication production uses.
        for topic in topics {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: 3)
        }
        // Written straight to the descriptor: a script reading the pipe gets the line now,
        // not when a buffer fills.
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
        logger.notice("Kafka mock cluster running", metadata: ["brokers": "\(cluster.bootstrapServers)", "topics": "\(topics)"])
        // SIGUSR1 takes broker 1 down and SIGUSR2 brings every broker back: fault tests of a
        // whole topology use them from outside, as the Kafka tests do in process.
        while let signal = await incoming.next() {
            switch signal {
            case .sigwinch:
                continue
            case .sigusr1:
                try cluster.setBrokerDown(1)
                logger.notice("broker 1 is down (SIGUSR1)")
                continue
            case .sigusr2:
                for broker in 1...brokers { try cluster.setBrokerUp(broker) }
                logger.notice("every broker is up (SIGUSR2)")
                continue
            default:
                logger.notice("stopping the Kafka mock cluster", metadata: ["signal": "\(signal)"])
            }
            break
        }
        withExtendedLifetime(cluster) {}
    }

    /// Sends the process SIGWINCH until it comes through `incoming`; false if SIGTERM or SIGINT
    /// came first.
    private static func signalsArrive(_ incoming: inout UnixSignalsSequence.AsyncIterator) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    kill(getpid(), SIGWINCH)
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            defer { group.cancelAll() }
            while let signal = await incoming.next() {
                switch signal {
                case .sigwinch: return true
                case .sigterm, .sigint: return false
                default: continue
                }
            }
            return false
        }
    }
}
#endif
