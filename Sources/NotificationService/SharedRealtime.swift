import ChatterCore
import Logging
import NIOCore
import ServiceLifecycle

/// What lets several real-time processes act as one: who is online anywhere, and a bus for
/// typing and presence frames to sockets held elsewhere (Redis in production). Without it
/// (one process) both stay in this process.
public struct SharedRealtime: Sendable {
    public var directory: any PresenceDirectory
    public var bus: any SignalBus
    /// This process's name in the directory and on the bus.
    public var instance: String
    /// How long a presence mark lasts without being refreshed (refreshed every third of it).
    public var markLifetime: Duration

    public init(directory: any PresenceDirectory, bus: any SignalBus, instance: String = Identifier.make(),
                markLifetime: Duration = .seconds(45)) {
        self.directory = directory
        self.bus = bus
        self.instance = instance
        self.markLifetime = markLifetime
    }

    /// Sends `frame` to `recipients`' sockets in other processes. Best effort: typing and
    /// presence are ephemeral, and a failure is only logged.
    func publish(_ frame: String, to recipients: some Collection<String>, logger: Logger) async {
        guard !recipients.isEmpty else { return }
        do {
            try await bus.publish(Signal(origin: instance, recipients: Array(recipients), frame: frame))
        } catch {
            logger.warning("publishing a signal to other processes failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
        }
    }
}

/// Delivers signals from other processes to this process's sockets, and keeps this process's
/// presence marks fresh.
struct SharedRealtimeService: Service {
    let shared: SharedRealtime
    let registry: ConnectionRegistry
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await deliverSignals() }
                group.addTask { await refreshMarks() }
            }
        }
    }

    private func deliverSignals() async {
        while !Task.isCancelled {
            do {
                for await signal in try await shared.bus.signals() where signal.origin != shared.instance {
                    let frame = ByteBuffer(string: signal.frame)
                    let presence = ServerFrame.presenceChange(in: signal.frame)
                    for connection in registry.connections(of: signal.recipients) {
                        if let presence {
                            connection.sendPresence(userID: presence.userID, online: presence.online, frame: frame)
                        } else {
                            connection.send(frame)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("signal subscription failed; retrying", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func refreshMarks() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: shared.markLifetime / 3)
            if Task.isCancelled { return }
            let users = Set(registry.all.map(\.userID))
            do {
                try await shared.directory.markOnline(users, instance: shared.instance, ttl: shared.markLifetime)
            } catch {
                logger.warning("refreshing presence marks failed", metadata: [LoggingKeys.errorDetail: "\(error)"])
            }
        }
    }
}
