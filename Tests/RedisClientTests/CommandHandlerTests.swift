import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// The channel pipeline of a connection, driven by hand on an `EmbeddedChannel`.
@Suite("Command handler")
struct CommandHandlerTests {
    private final class Pipeline {
        let channel = EmbeddedChannel()
        let status = ConnectionStatus()
        var pushes: [RESPValue] { pushed.withLockedValue { $0 } }
        private let pushed = LockedBox<[RESPValue]>([])

        init(pubSub: Bool = false) throws {
            let sink = pushed
            let onPush: (@Sendable (RESPValue) -> Void)? = if pubSub {
                { value in sink.withLockedValue { $0.append(value) } }
            } else {
                nil
            }
            try channel.pipeline.syncOperations.addHandlers(
                ByteToMessageHandler(RESPDecoder()),
                MessageToByteHandler(RESPEncoder()),
                RedisCommandHandler(status: status, onPush: onPush)
            )
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        func send(_ command: [String], timeout: TimeAmount = .seconds(2)) -> EventLoopFuture<RESPValue> {
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            let request = RedisRequest(command: .array(command.map(RESPValue.bulkString)), promise: promise, timeout: timeout)
            // As `RedisConnection` does: a write that never reaches the handler fails the reply.
            channel.writeAndFlush(request).whenFailure { promise.fail($0) }
            return promise.futureResult
        }

        func reply(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        func written() throws -> String {
            var all = ByteBuffer()
            while var chunk = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&chunk) }
            return String(buffer: all)
        }
    }

    private enum Outcome: Sendable {
        case pending
        case value(RESPValue)
        case failure(any Error)
    }

    /// What the future holds now (an embedded loop runs callbacks at once).
    private func outcome(_ future: EventLoopFuture<RESPValue>) -> Outcome {
        let box = LockedBox(Outcome.pending)
        future.whenComplete { result in
            box.withLockedValue {
                switch result {
                case .success(let value): $0 = .value(value)
                case .failure(let error): $0 = .failure(error)
                }
            }
        }
        return box.withLockedValue { $0 }
    }

    private func value(_ future: EventLoopFuture<RESPValue>) -> RESPValue? {
        if case .value(let value) = outcome(future) { return value }
        return nil
    }

    private func errorCode(_ future: EventLoopFuture<RESPValue>) -> RedisError.Code? {
        if case .failure(let error as RedisError) = outcome(future) { return error.code }
        return nil
    }

    private func isPending(_ future: EventLoopFuture<RESPValue>) -> Bool {
        if case .pending = outcome(future) { return true }
        return false
    }

    @Test func pipelinedRepliesMatchInOrder() throws {
        let pipeline = try Pipeline()
        let futures = (0..<5).map { pipeline.send(["ECHO", "\($0)"]) }
        #expect(try pipeline.written().hasPrefix("*2\r\n$4\r\nECHO\r\n$1\r\n0\r\n*2\r\n$4\r\nECHO\r\n$1\r\n1\r\n"))
        #expect(futures.allSatisfy(isPending))
        // Replies arrive split across reads and merged within them.
        try pipeline.reply("$1\r\n0\r\n$1\r")
        #expect(value(futures[0]) == .bulkString("0"))
        #expect(isPending(futures[1]))
        try pipeline.reply("\n1\r\n$1\r\n2\r\n$1\r\n3\r\n-ERR no\r\n")
        for index in 0..<4 {
            #expect(value(futures[index]) == .bulkString("\(index)"))
        }
        #expect(value(futures[4]) == .error("ERR no"))
        #expect(pipeline.status.isUsable)
    }

    @Test func timeoutFailsTheCommandAndClosesTheConnection() throws {
        let pipeline = try Pipeline()
        let slow = pipeline.send(["BLPOP", "k", "0"], timeout: .milliseconds(100))
        let next = pipeline.send(["GET", "k"], timeout: .seconds(10))
        pipeline.channel.embeddedEventLoop.advanceTime(by: .milliseconds(150))
        #expect(errorCode(slow) == .timeout)
        #expect(errorCode(next) == .connectionClosed)
        #expect(!pipeline.status.isUsable)
        #expect(!pipeline.channel.isActive)
        // Later commands fail at once instead of hanging.
        #expect(!isPending(pipeline.send(["PING"])))
    }

    @Test func repliesBeforeTheTimeoutCancelIt() throws {
        let pipeline = try Pipeline()
        let quick = pipeline.send(["PING"], timeout: .milliseconds(100))
        try pipeline.reply("+PONG\r\n")
        pipeline.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(value(quick) == .simpleString("PONG"))
        #expect(pipeline.status.isUsable)
        #expect(pipeline.channel.isActive)
    }

    @Test func aCommandTimesOutAtItsOwnDeadlineAfterEarlierOnesWereAnswered() throws {
        let pipeline = try Pipeline()
        let first = pipeline.send(["PING"], timeout: .milliseconds(100))
        try pipeline.reply("+PONG\r\n")
        pipeline.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        let second = pipeline.send(["BLPOP", "k", "0"], timeout: .milliseconds(100))
        // The timer armed for the first command fires at 100 ms and finds nothing late.
        pipeline.channel.embeddedEventLoop.advanceTime(by: .milliseconds(90))
        #expect(value(first) == .simpleString("PONG"))
        #expect(isPending(second))
        #expect(pipeline.status.isUsable)
        pipeline.channel.embeddedEventLoop.advanceTime(by: .milliseconds(20))
        #expect(errorCode(second) == .timeout)
        #expect(!pipeline.status.isUsable)
        #expect(!pipeline.channel.isActive)
    }

    @Test func aShorterTimeoutBehindALongerOneFiresAtItsOwnDeadline() throws {
        let pipeline = try Pipeline()
        let patient = pipeline.send(["BLPOP", "k", "0"], timeout: .seconds(10))
        let hasty = pipeline.send(["GET", "k"], timeout: .milliseconds(100))
        pipeline.channel.embeddedEventLoop.advanceTime(by: .milliseconds(150))
        #expect(errorCode(hasty) == .timeout)
        #expect(errorCode(patient) == .connectionClosed)
        #expect(!pipeline.channel.isActive)
    }

    @Test func inFlightCommandsFailWhenTheConnectionDrops() throws {
        let pipeline = try Pipeline()
        let futures = (0..<3).map { _ in pipeline.send(["INCR", "counter"]) }
        try pipeline.reply(":1\r\n")
        pipeline.channel.pipeline.fireChannelInactive()
        #expect(value(futures[0]) == .integer(1))
        #expect(futures.dropFirst().allSatisfy { errorCode($0) == .connectionClosed })
    }

    @Test func malformedReplyFailsEverythingInFlight() throws {
        let pipeline = try Pipeline()
        let future = pipeline.send(["GET", "k"])
        try? pipeline.reply("!oops\r\n")
        #expect(errorCode(future) == .protocolError)
        #expect(!pipeline.status.isUsable)
        #expect(!pipeline.channel.isActive)
    }

    @Test func unsolicitedReplyClosesTheConnection() throws {
        let pipeline = try Pipeline()
        try? pipeline.reply("+OK\r\n")
        #expect(!pipeline.status.isUsable)
        #expect(!pipeline.channel.isActive)
    }

    @Test func pubSubMessagesBypassTheQueue() throws {
        let pipeline = try Pipeline(pubSub: true)
        let subscribe = pipeline.send(["SUBSCRIBE", "news"])
        try pipeline.reply("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
        #expect(isPending(subscribe))
        try pipeline.reply("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
        #expect(value(subscribe)?.array?.first?.string == "subscribe")
        #expect(pipeline.pushes.count == 1)
        #expect(pipeline.pushes.first?.array?.last == .bulkString("hi"))
    }

    @Test func gracefulCloseWaitsForReplies() throws {
        let pipeline = try Pipeline()
        let pending = pipeline.send(["GET", "k"])
        pipeline.channel.pipeline.triggerUserOutboundEvent(RedisGracefulClose(), promise: nil)
        #expect(pipeline.channel.isActive)
        #expect(errorCode(pipeline.send(["GET", "other"])) == .connectionClosed)
        try pipeline.reply("$1\r\nv\r\n")
        #expect(value(pending) == .bulkString("v"))
        #expect(!pipeline.channel.isActive)
    }
}
