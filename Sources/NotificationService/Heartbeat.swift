import ChatterCore
import NIOCore
import ServiceLifecycle
import Synchronization

/// When a socket last received anything (a frame, a pong), for the heartbeat.
final class SocketActivity: Sendable {
    private let lastRead = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)

    func touch() { lastRead.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }

    var idle: Duration {
        .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds &- lastRead.load(ordering: .relaxed)))
    }
}

/// Pings every open socket from one task, instead of a ping task and timer per socket, and
/// drops sockets that stayed silent (no pong) for two intervals: a peer that vanished without
/// closing (a phone that lost its network) would otherwise hold a socket for many minutes.
struct Heartbeat: Service {
    let registry: ConnectionRegistry
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in Ticks(every: interval) { beat() }
        }
    }

    func beat() {
        for connection in registry.all {
            if connection.activity.idle > interval * 2 {
                connection.output.drop()
            } else {
                connection.output.ping()
            }
        }
    }
}
