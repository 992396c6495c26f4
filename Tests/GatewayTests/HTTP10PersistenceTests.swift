import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import ChatterHTTP

/// `HTTP10Persistence` on an `EmbeddedChannel`: what it passes on to the framework and what it
/// makes of the responses (the end-to-end suites check the real servers with a bare socket).
@Suite("HTTP/1.0 persistence")
struct HTTP10PersistenceTests {
    private func request(_ version: HTTPVersion, connection: String? = nil) -> HTTPServerRequestPart {
        var head = HTTPRequestHead(version: version, method: .GET, uri: "/healthz")
        if let connection { head.headers.add(name: "connection", value: connection) }
        return .head(head)
    }

    private func response(_ status: HTTPResponseStatus = .ok) -> HTTPServerResponsePart {
        .head(HTTPResponseHead(version: .http1_1, status: status, headers: ["content-length": "0"]))
    }

    /// Sends a request in and a response out; returns what went on in each direction.
    private func exchange(_ channel: EmbeddedChannel, _ part: HTTPServerRequestPart,
                          statuses: [HTTPResponseStatus] = [.ok]) throws -> (HTTPRequestHead, [HTTPResponseHead]) {
        try channel.writeInbound(part)
        guard case .head(let passed) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no request head passed on")
            throw CancellationError()
        }
        var written: [HTTPResponseHead] = []
        for status in statuses {
            try channel.writeOutbound(response(status))
            if case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) { written.append(head) }
        }
        return (passed, written)
    }

    @Test func anHTTP10RequestIsMarkedToCloseAndSoIsItsResponse() throws {
        let channel = EmbeddedChannel(handler: HTTP10Persistence())
        let (passed, written) = try exchange(channel, request(.http1_0))
        #expect(passed.headers["connection"] == ["close"])
        #expect(written.first?.version == .http1_0)
        #expect(written.first?.headers["connection"] == ["close"])
    }

    @Test func http10KeepAliveIsDeclined() throws {
        let channel = EmbeddedChannel(handler: HTTP10Persistence())
        let (passed, written) = try exchange(channel, request(.http1_0, connection: "keep-alive"))
        #expect(passed.headers["connection"] == ["close"])
        #expect(written.first?.version == .http1_0)
        #expect(written.first?.headers["connection"] == ["close"])
    }

    @Test func http11IsLeftAsItIs() throws {
        let channel = EmbeddedChannel(handler: HTTP10Persistence())
        let (passed, written) = try exchange(channel, request(.http1_1))
        #expect(passed.headers["connection"].isEmpty)
        #expect(written.first?.version == .http1_1)
        #expect(written.first?.headers["connection"].isEmpty == true)
        // The next request on the connection is 1.0: its own answer, not the previous one's.
        let (_, next) = try exchange(channel, request(.http1_0))
        #expect(next.first?.headers["connection"] == ["close"])
    }

    @Test func anInformationalResponseLeavesTheRequestItsFinalAnswer() throws {
        let channel = EmbeddedChannel(handler: HTTP10Persistence())
        let (_, written) = try exchange(channel, request(.http1_0), statuses: [.continue, .ok])
        #expect(written.count == 2)
        #expect(written[0].headers["connection"].isEmpty)
        #expect(written[1].version == .http1_0)
        #expect(written[1].headers["connection"] == ["close"])
    }

    @Test func a101IsFlushedThenTheHandlerLeavesThePipeline() throws {
        let handler = HTTP10Persistence()
        let channel = EmbeddedChannel(handler: handler)
        try channel.writeInbound(request(.http1_1, connection: "upgrade"))
        _ = try channel.readInbound(as: HTTPServerRequestPart.self)
        // One writeAndFlush, as NIO's upgrade handler sends the 101.
        channel.writeAndFlush(response(.switchingProtocols), promise: nil)
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("the 101 was not flushed")
            return
        }
        #expect(head.status == .switchingProtocols)
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.context(handler: handler) }
        // What follows is no longer HTTP, and passes untouched.
        try channel.writeInbound(ByteBuffer(string: "frame"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "frame"))
    }
}
