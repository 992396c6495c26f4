import ChatterCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

/// A WebSocket client for tests: records every text frame, sends JSON, waits for frames.
final class TestSocket: Sendable {
    struct Frame: @unchecked Sendable {
        var text: String
        var json: [String: Any]
        var type: String? { json["type"] as? String }
        var event: [String: Any] { json["event"] as? [String: Any] ?? [:] }
        var kind: String? { event["kind"] as? String }
        var message: [String: Any] { (event["message"] as? [String: Any]) ?? (json["message"] as? [String: Any]) ?? [:] }
        var seq: Int? { message["seq"] as? Int }
    }

    private struct State {
        var frames: [Frame] = []
        /// Frames already returned by `next`; they stay in `frames` for later assertions.
        var consumed = Set<Int>()
        var outbound: WebSocketOutboundWriter?
        var closeCode: Int?
        var finished = false
    }

    private let state = Mutex(State())
    private let changed = ChangeNotifier()

    fileprivate func connected(_ outbound: WebSocketOutboundWriter) {
        state.withLock { $0.outbound = outbound }
        changed.notify()
    }

    fileprivate func received(_ text: String) {
        let json = JSONValue.object(from: text)
        state.withLock { $0.frames.append(Frame(text: text, json: json)) }
        changed.notify()
    }

    fileprivate func finished(closeCode: Int?) {
        state.withLock {
            $0.closeCode = closeCode
            $0.finished = true
        }
        changed.notify()
    }

    var frames: [Frame] { state.withLock { $0.frames } }
    var isFinished: Bool { state.withLock { $0.finished } }
    var closeCode: Int? { state.withLock { $0.closeCode } }

    func send(_ object: [String: Any]) async throws {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        try await sendText(text)
    }

    func sendText(_ text: String) async throws {
        let outbound = try await waitUntil { $0.outbound }
        try await outbound.write(.text(text))
    }

    func close() async {
        if let outbound = state.withLock({ $0.outbound }) { try? await outbound.close(.normalClosure, reason: nil) }
    }

    /// The next not-yet-returned frame matching `predicate` (earlier non-matching frames stay).
    @discardableResult
    func next(timeout: Duration = .seconds(10), where predicate: @escaping (Frame) -> Bool = { _ in true }) async throws -> Frame {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = changed.generation
            let snapshot = state.withLock { $0 }
            if let index = snapshot.frames.indices.first(where: { !snapshot.consumed.contains($0) && predicate(snapshot.frames[$0]) }) {
                let claimed = state.withLock { $0.consumed.insert(index).inserted }
                if claimed { return snapshot.frames[index] }
                continue
            }
            guard ContinuousClock.now < deadline else {
                throw TestSocketTimeout(frames: snapshot.frames.map(\.text), finished: snapshot.finished, closeCode: snapshot.closeCode)
            }
            await changed.wait(since: seen, timeout: .milliseconds(100))
        }
    }

    /// Frames of `type` received so far, without consuming them.
    func all(type: String) -> [Frame] { frames.filter { $0.type == type } }

    func waitForClose(timeout: Duration = .seconds(10)) async throws -> Int? {
        _ = try await waitUntil(timeout: timeout) { $0.finished ? true : nil }
        return closeCode
    }

    private func waitUntil<T>(timeout: Duration = .seconds(10), _ check: (inout State) -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = changed.generation
            if let value = state.withLock({ check(&$0) }) { return value }
            guard ContinuousClock.now < deadline else {
                let snapshot = state.withLock { $0 }
                throw TestSocketTimeout(
                    frames: snapshot.frames.map(\.text), finished: snapshot.finished, closeCode: snapshot.closeCode)
            }
            await changed.wait(since: seen, timeout: .milliseconds(100))
        }
    }
}

struct TestSocketTimeout: Error, CustomStringConvertible {
    var frames: [String]
    var finished: Bool
    var closeCode: Int?
    var description: String {
        "timed out waiting for a frame (\(frames.count) received, finished: \(finished), close code: \(closeCode.map(String.init) ?? "none")); last ones:\n"
            + frames.suffix(10).joined(separator: "\n")
    }
}

/// Connects to the live server's `/v1/ws`, runs `body`, then closes the socket.
/// `token` goes in the `Authorization` header; without it the test authenticates by frame.
func withSocket<T: Sendable>(
    port: Int, token: String? = nil, readInbound: Bool = true, _ body: @escaping @Sendable (TestSocket) async throws -> T
) async throws -> T {
    let socket = TestSocket()
    var headers = HTTPFields()
    if let token { headers[.authorization] = "Bearer \(token)" }
    let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
    let logger = Logger(label: "test-socket", factory: { _ in SwiftLogNoOpLogHandler() })
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            do {
                let closeFrame = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/v1/ws", configuration: configuration, logger: logger) {
                    inbound, outbound, _ in
                    socket.connected(outbound)
                    guard readInbound else {
                        // A client that stops reading: wait until the server gives up on it.
                        while !Task.isCancelled, !socket.isFinished { try await Task.sleep(for: .milliseconds(50)) }
                        return
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { socket.received(text) }
                    }
                }
                socket.finished(closeCode: closeFrame.map { Int($0.closeCode.rawCode) })
            } catch {
                socket.finished(closeCode: nil)
                throw error
            }
            return nil
        }
        let result = try await body(socket)
        await socket.close()
        group.cancelAll()
        while let next = try? await group.next() { _ = next }
        return result
    }
}

extension WebSocketErrorCode {
    var rawCode: UInt16 {
        var buffer = ByteBufferAllocator().buffer(capacity: 2)
        buffer.write(webSocketErrorCode: self)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }
}
