import Foundation
import NIOCore
import NIOPosix

/// Opens `/v1/ws` over a plain TCP connection and reports the close code the server sends.
///
/// The WebSocket client library races when the server's close frame and FIN arrive together
/// with the 101 response: the upgrade completes after the connection has already gone, and the
/// client waits forever. Tests about refusals right after the upgrade use this probe instead.
/// It reads the 101 and the frames from one byte stream, so nothing can arrive "too early".
enum CloseCodeProbe {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The close code of the first close frame, or nil if the connection ended without one.
    /// `frames` are sent as masked text frames once the upgrade is answered.
    static func closeCode(
        port: Int, authorization: String? = nil, frames: [String] = [], timeout: Duration = .seconds(10)
    ) async throws -> Int? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var request = "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    if let authorization { request += "Authorization: \(authorization)\r\n" }
                    try await outbound.write(ByteBuffer(string: request + "\r\n"))
                    var pending = ByteBuffer()
                    var upgraded = false
                    for try await chunk in inbound {
                        pending.writeImmutableBuffer(chunk)
                        if !upgraded {
                            guard let head = pending.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                            let length = head.upperBound - pending.readerIndex
                            let response = pending.readString(length: length) ?? ""
                            guard response.hasPrefix("HTTP/1.1 101") else { throw Failure(description: "not upgraded: \(response)") }
                            upgraded = true
                            for frame in frames { try await outbound.write(maskedTextFrame(frame)) }
                        }
                        while let (opcode, payload) = nextFrame(&pending) {
                            if opcode == 0x8 { return payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil }
                        }
                    }
                    return nil
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Failure(description: "no close within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// One complete unmasked server frame from the front of `buffer`, or nil until it has arrived.
    private static func nextFrame(_ buffer: inout ByteBuffer) -> (opcode: UInt8, payload: [UInt8])? {
        let bytes = Array(buffer.readableBytesView)
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        buffer.moveReaderIndex(forwardBy: offset + length)
        return (bytes[0] & 0x0F, Array(bytes[offset..<offset + length]))
    }

    private static func maskedTextFrame(_ text: String) -> ByteBuffer {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame = ByteBuffer()
        frame.writeInteger(UInt8(0x81))
        if payload.count < 126 {
            frame.writeInteger(UInt8(0x80 | payload.count))
        } else {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(payload.count))
        }
        frame.writeBytes(mask)
        frame.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return frame
    }
}
