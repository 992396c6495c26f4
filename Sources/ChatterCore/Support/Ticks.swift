import NIOCore
import NIOPosix

/// A tick every `interval`, from an event-loop timer, until the loop over it ends or its task
/// is cancelled: `for await _ in Ticks(every: .milliseconds(250)) { … }`.
///
/// Why not `Task.sleep` in a loop: on Linux each sleep is a Dispatch timer, and a loop of them
/// kept Dispatch's timer thread re-arming its timerfd hundreds of times a second (a 100 ms
/// loop alone cost an idle server 9% of a core). An event loop's timer is part of the
/// `epoll_wait` it does anyway. While one tick is being handled at most one more waits; the
/// rest are dropped, so a slow round never leaves a backlog of rounds behind it.
public struct Ticks: AsyncSequence, Sendable {
    public typealias Element = Void
    public let interval: Duration

    public init(every interval: Duration) {
        self.interval = interval
    }

    public func makeAsyncIterator() -> AsyncStream<Void>.Iterator {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let delay = TimeAmount(interval)
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleRepeatedTask(initialDelay: delay, delay: delay) { _ in
            continuation.yield()
        }
        continuation.onTermination = { _ in timer.cancel() }
        return stream.makeAsyncIterator()
    }
}
