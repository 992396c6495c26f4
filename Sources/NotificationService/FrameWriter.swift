import NIOCore
import NIOWebSocket
import Synchronization

/// Where a connection's frames go: the socket, or a recorder in tests.
protocol FrameOutput: Sendable {
    /// Runs `body` on the socket's thread; calls run in the order they were made.
    func perform(_ body: @escaping @Sendable () -> Void)
    /// On the socket's thread: writes `frames` in order, flushes once, and calls `done` when
    /// the kernel has taken them (or the socket failed).
    func write(_ frames: [ByteBuffer], done: @escaping @Sendable () -> Void)
    /// Outputs on the same thread share a value here, so one fan-out can flush all of them in a
    /// single hand-off; nil when there is nothing to share.
    var thread: ObjectIdentifier? { get }
    /// Sends a WebSocket ping; the client's pong counts as activity.
    func ping()
    /// Closes the TCP connection without a close handshake (a dead or stuck peer).
    func drop()
}

/// Orders and bounds the frames going out on one socket, with no task per socket.
///
/// Frames pushed from any thread are collected and written in one batch with one flush on the
/// socket's event loop. A frame counts against `capacity` from `push` until the kernel took
/// it; a client that stops reading fills that budget, `push` fails, and the connection is
/// closed with "reconnect and sync" instead of buffering without bound or slowing the fan-out
/// to everyone else.
final class FrameWriter: Sendable {
    private struct State {
        var pending: [ByteBuffer] = []
        /// Written to the socket, not yet taken by the kernel.
        var inFlight = 0
        var flushScheduled = false
        var finished = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let capacity: Int
    private let output: any FrameOutput
    private let state = Mutex(State())

    init(output: any FrameOutput, capacity: Int) {
        self.output = output
        self.capacity = max(1, capacity)
    }

    /// Queues `frame`; false when the budget is spent or the writer finished (frame dropped).
    /// With a `batch`, the write is scheduled when the batch is (one hand-off per thread for a
    /// whole fan-out); without, at once.
    func push(_ frame: ByteBuffer, batch: FlushBatch? = nil) -> Bool {
        let (accepted, schedule) = state.withLock { state -> (Bool, Bool) in
            guard !state.finished, state.pending.count + state.inFlight < capacity else { return (false, false) }
            state.pending.append(frame)
            guard !state.flushScheduled else { return (true, false) }
            state.flushScheduled = true
            return (true, true)
        }
        if schedule {
            if let batch { batch.add(self) } else { output.perform { self.flush() } }
        }
        return accepted
    }

    /// Frames pushed and not yet taken by the kernel.
    var backlog: Int { state.withLock { $0.pending.count + $0.inFlight } }

    /// Stops accepting frames; `dropPending` discards what has not been written yet.
    func finish(dropPending: Bool) {
        state.withLock { state in
            state.finished = true
            if dropPending { state.pending.removeAll() }
        }
    }

    /// Returns once everything pushed before this call has been written to the socket (not
    /// necessarily taken by the kernel), so a close frame sent afterwards follows it.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if !state.flushScheduled { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    fileprivate var outputForBatch: any FrameOutput { output }

    fileprivate func flush() {
        let (frames, waiters) = state.withLock { state -> ([ByteBuffer], [CheckedContinuation<Void, Never>]) in
            var frames: [ByteBuffer] = []
            swap(&frames, &state.pending)  // no copy of the queued frames
            state.inFlight += frames.count
            state.flushScheduled = false
            defer { state.drainWaiters.removeAll() }
            return (frames, state.drainWaiters)
        }
        if !frames.isEmpty {
            let count = frames.count
            output.write(frames) { self.state.withLock { $0.inFlight -= count } }
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Writers that a fan-out gave frames to, flushed together per socket thread by `schedule`.
/// Used by one task at a time.
final class FlushBatch {
    private var byThread: [ObjectIdentifier: (output: any FrameOutput, writers: [FrameWriter])] = [:]
    private var alone: [FrameWriter] = []

    fileprivate func add(_ writer: FrameWriter) {
        guard let thread = writer.outputForBatch.thread else { return alone.append(writer) }
        if byThread[thread] == nil {
            byThread[thread] = (writer.outputForBatch, [writer])
        } else {
            byThread[thread]!.writers.append(writer)
        }
    }

    /// Hands every collected writer's frames to its socket thread: once per thread.
    func schedule() {
        for (output, writers) in byThread.values {
            output.perform { for writer in writers { writer.flush() } }
        }
        for writer in alone { writer.outputForBatch.perform { writer.flush() } }
        byThread.removeAll()
        alone.removeAll()
    }
}

/// The real socket: frames go straight into the channel on its event loop as text frames,
/// the payload buffer shared by every recipient of an event.
struct ChannelFrameOutput: FrameOutput {
    let channel: any Channel

    func perform(_ body: @escaping @Sendable () -> Void) {
        channel.eventLoop.execute(body)
    }

    var thread: ObjectIdentifier? { ObjectIdentifier(channel.eventLoop) }

    func write(_ frames: [ByteBuffer], done: @escaping @Sendable () -> Void) {
        guard channel.isActive else { return done() }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        for (index, frame) in frames.enumerated() {
            let webSocketFrame = WebSocketFrame(fin: true, opcode: .text, data: frame)
            channel.write(webSocketFrame, promise: index == frames.count - 1 ? promise : nil)
        }
        channel.flush()
        promise.futureResult.whenComplete { _ in done() }
    }

    func ping() {
        let channel = self.channel
        channel.eventLoop.execute {
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer()), promise: nil)
        }
    }

    func drop() {
        channel.close(promise: nil)
    }
}
