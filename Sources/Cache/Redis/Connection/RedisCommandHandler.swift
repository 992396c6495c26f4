import NIOCore

/// A command on its way to Redis: the value to write, the promise its reply completes, and how
/// long that reply may take.
struct RedisRequest: Sendable {
    var command: RESPValue
    var promise: EventLoopPromise<RESPValue>
    var timeout: TimeAmount
}

/// An outbound user event: close once every command in flight has its reply; refuse new ones.
struct RedisGracefulClose: Sendable {}

/// Matches replies to commands first in, first out, which is what makes pipelining work: Redis
/// answers the commands of one connection in the order they arrive.
///
/// A command whose reply does not come in time fails with ``RedisError/Code/timeout`` and the
/// connection is closed, since a late reply would be matched to the next command. Every command
/// still waiting when the connection closes fails with ``RedisError/Code/connectionClosed`` (or
/// the protocol error that closed it); none is ever retried.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = RESPValue

    private struct InFlight {
        let id: UInt64
        let promise: EventLoopPromise<RESPValue>
        let timer: Scheduled<Void>
    }

    private enum State {
        case open
        /// Closing once the commands in flight are answered; new commands are refused.
        case draining
        case closed(RedisError)
    }

    private var inFlight = CircularBuffer<InFlight>()
    private var state = State.open
    private var nextID: UInt64 = 0
    private let status: ConnectionStatus
    /// Receives pub/sub messages (`message` arrays), which answer no command; `nil` off pub/sub.
    private let onPush: (@Sendable (RESPValue) -> Void)?

    init(status: ConnectionStatus, onPush: (@Sendable (RESPValue) -> Void)?) {
        self.status = status
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        switch state {
        case .open:
            break
        case .draining:
            let error = RedisError(.connectionClosed, "connection is closing")
            request.promise.fail(error)
            promise?.fail(error)
            return
        case .closed(let error):
            request.promise.fail(error)
            promise?.fail(error)
            return
        }
        let id = nextID
        nextID &+= 1
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = request.timeout
        let timer = context.eventLoop.scheduleTask(in: timeout) {
            bound.value.0.timedOut(id: id, after: timeout, context: bound.value.1)
        }
        inFlight.append(InFlight(id: id, promise: request.promise, timer: timer))
        context.write(wrapOutboundOut(request.command), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let onPush, Self.isPubSubMessage(value) {
            onPush(value)
            return
        }
        guard let head = inFlight.popFirst() else {
            close(context: context, error: RedisError(.protocolError, "a reply no command was waiting for: \(value)"))
            return
        }
        head.timer.cancel()
        head.promise.succeed(value)
        if case .draining = state, inFlight.isEmpty {
            close(context: context, error: RedisError(.connectionClosed, "connection closed by the client"))
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RedisGracefulClose else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed(())
        guard case .open = state else { return }
        if inFlight.isEmpty {
            close(context: context, error: RedisError(.connectionClosed, "connection closed by the client"))
        } else {
            state = .draining
            status.markUnusable()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError = error as? RedisError ?? RedisError(.connectionClosed, "connection failed", underlying: error)
        close(context: context, error: redisError)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "connection closed"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "connection closed"))
    }

    private func timedOut(id: UInt64, after timeout: TimeAmount, context: ChannelHandlerContext) {
        guard let index = inFlight.firstIndex(where: { $0.id == id }) else { return }
        let late = inFlight.remove(at: index)
        // Close before failing the late command, so its caller finds the connection unusable.
        close(context: context, error: RedisError(.connectionClosed, "connection closed after another command timed out"))
        late.promise.fail(RedisError(.timeout, "no reply within \(timeout.nanoseconds / 1_000_000) ms"))
    }

    private func close(context: ChannelHandlerContext, error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    /// Fails every command in flight with `error` and refuses new ones from now on.
    private func failAll(_ error: RedisError) {
        if case .closed = state {} else { state = .closed(error) }
        status.markUnusable()
        while let entry = inFlight.popFirst() {
            entry.timer.cancel()
            entry.promise.fail(error)
        }
    }

    /// `["message", channel, payload]` or `["pmessage", pattern, channel, payload]`.
    static func isPubSubMessage(_ value: RESPValue) -> Bool {
        guard let elements = value.array, let kind = elements.first?.string else { return false }
        return (kind == "message" && elements.count == 3) || (kind == "pmessage" && elements.count == 4)
    }
}
