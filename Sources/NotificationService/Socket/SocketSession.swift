import NIOCore
import NIOWebSocket
import Synchronization

/// One upgraded socket from the 101 to the end of its TCP connection.
///
/// What the client sends is queued here by the socket's channel handler and answered in order by
/// one job at a time (`NotificationService.drain`), so frames of one socket are handled in the
/// order they came, as a read loop would, without a task waiting on the socket between frames.
/// A client that sends faster than its frames are answered stops being read (TCP pushes back)
/// instead of queueing without bound.
final class SocketSession: Sendable {
    /// What reaches the service from the socket, in order.
    enum Input: Sendable {
        /// The upgrade request's `Authorization` header, checked before any frame.
        case authorization(String)
        case text(String)
        case binary
        /// The TCP connection is gone; always the last input.
        case ended
    }

    private struct State {
        var inputs: [Input] = []
        var next = 0
        var draining = false
        var readingPaused = false
        var connection: Connection?
        var closeSent = false
    }

    let channel: any Channel
    let activity = SocketActivity()
    let output: ChannelFrameOutput
    private let state = Mutex(State())

    /// Inputs waiting before the socket stops being read, and the level at which reading resumes.
    static let pauseReadingAt = 64
    static let resumeReadingAt = 16
    /// How long a close may take (the client's answering close frame) before the TCP connection
    /// is dropped: a client that stopped reading would otherwise hold the socket.
    static let closeGrace: TimeAmount = .seconds(2)

    init(channel: any Channel) {
        self.channel = channel
        output = ChannelFrameOutput(channel: channel)
    }

    /// The authenticated connection; nil until `ready`.
    var connection: Connection? { state.withLock { $0.connection } }

    func attach(_ connection: Connection) {
        state.withLock { $0.connection = connection }
    }

    /// Whether a close frame has gone out (then the socket's frames are no longer answered).
    var isClosing: Bool { state.withLock { $0.closeSent } }

    /// Whether the socket is not being read until its queue goes down (the channel's `autoRead`).
    var isReadingPaused: Bool { state.withLock { $0.readingPaused } }

    /// Queues `input`; true when no job is draining this socket and the caller must start one.
    func push(_ input: Input) -> Bool {
        let (start, pause) = state.withLock { state -> (Bool, Bool) in
            state.inputs.append(input)
            var pause = false
            if state.inputs.count - state.next >= Self.pauseReadingAt, !state.readingPaused {
                state.readingPaused = true
                pause = true
            }
            guard !state.draining else { return (false, pause) }
            state.draining = true
            return (true, pause)
        }
        if pause { applyReading() }
        return start
    }

    /// The oldest queued input; nil (and the drain ends) when there is none.
    func pop() -> Input? {
        let (input, resume) = state.withLock { state -> (Input?, Bool) in
            guard state.next < state.inputs.count else {
                state.inputs.removeAll(keepingCapacity: false)
                state.next = 0
                state.draining = false
                return (nil, false)
            }
            let input = state.inputs[state.next]
            state.next += 1
            if state.next >= 32, state.next * 2 >= state.inputs.count {
                // Answered inputs are dropped in bulk, so a socket that never goes quiet does not
                // keep every frame it ever sent.
                state.inputs.removeFirst(state.next)
                state.next = 0
            }
            var resume = false
            if state.readingPaused, state.inputs.count - state.next <= Self.resumeReadingAt {
                state.readingPaused = false
                resume = true
            }
            return (input, resume)
        }
        if resume { applyReading() }
        return input
    }

    /// Sets the channel's `autoRead` to what the flag says now, on the event loop. Pauses come
    /// from the loop and resumes from the draining job; reading the flag when the change runs
    /// (instead of carrying a value) keeps the two in step whatever order they reach the loop.
    private func applyReading() {
        let channel = self.channel
        let apply: @Sendable () -> Void = {
            let paused = self.state.withLock { $0.readingPaused }
            channel.setOption(ChannelOptions.autoRead, value: !paused).whenFailure { _ in }
        }
        if channel.eventLoop.inEventLoop { apply() } else { channel.eventLoop.execute(apply) }
    }

    /// Sends a close frame (from any thread) and drops the TCP connection if the client has not
    /// answered it within `closeGrace`. Only the first close counts.
    func close(code: UInt16, reason: String) {
        let channel = self.channel
        channel.eventLoop.execute { self.closeOnLoop(code: code, reason: reason) }
    }

    /// `close` on the channel's event loop.
    func closeOnLoop(code: UInt16, reason: String) {
        guard markCloseSent() else { return }
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.writeInteger(code)
        data.writeString(reason)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data), promise: nil)
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) }
    }

    /// Records that a close frame is going out; false when one already did.
    func markCloseSent() -> Bool {
        state.withLock { state in
            guard !state.closeSent else { return false }
            state.closeSent = true
            return true
        }
    }
}
