import ChatterCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a JSON request body with the API's rules: a JSON content type (or none), a size cap,
/// a nesting cap, and every failure a 4xx in the contract's error shape.
public struct ChatterJSONDecoder: RequestDecoder {
    /// Deeper JSON than this is refused before parsing; no API body needs more than 3 levels.
    public static let maxDepth = 16

    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        guard let value = try await decodeIfPresent(type, from: request, context: context) else {
            throw ChatterError(.malformedJSON, "request body must be a JSON object")
        }
        return value
    }

    /// Like `decode`, but an empty body is `nil` rather than an error, for optional bodies.
    public func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T? {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw ChatterError(.payloadTooLarge, "request body is larger than \(context.maxUploadSize) bytes")
        }
        let bytes = buffer.readableBytesView
        guard !bytes.isEmpty else { return nil }
        if let contentType = request.headers[.contentType] {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
                throw ChatterError(.unsupportedMediaType, "request body must be application/json")
            }
        }
        guard Self.depth(of: bytes) <= Self.maxDepth else {
            throw ChatterError(.malformedJSON, "JSON is nested too deeply")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw Self.describe(error)
        }
    }

    /// Maximum bracket nesting, ignoring brackets inside strings.
    static func depth(of bytes: ByteBufferView) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// Says which field was wrong without echoing decoder internals.
    static func describe(_ error: DecodingError) -> ChatterError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return ChatterError(.invalidRequest, "missing field '\(field)'")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return context.codingPath.isEmpty
                ? ChatterError(.malformedJSON, "request body must be a JSON object")
                : ChatterError(.invalidRequest, "field '\(path(context.codingPath))' has the wrong type")
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? ChatterError(.malformedJSON, "request body is not valid JSON")
                : ChatterError(.invalidRequest, "field '\(path(context.codingPath))' is invalid")
        @unknown default:
            return ChatterError(.malformedJSON, "request body is not valid JSON")
        }
    }
}

/// Writes JSON responses with the contract's content type.
public struct ChatterJSONEncoder: ResponseEncoder {
    public init() {}

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try Response.json(value)
    }
}

extension Response {
    public static let jsonContentType = "application/json; charset=utf-8"

    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return json(bytes: try encoder.encode(value), status: status)
    }

    /// A response of JSON text already encoded.
    public static func json(bytes: some Collection<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: jsonContentType, .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// A JSON body with a status, for handlers that answer 201 or 200 depending on what happened.
public struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator, Sendable {
    public var value: Value
    public var status: HTTPResponse.Status

    public init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try Response.json(value, status: status)
    }
}

/// A JSON body written by the value itself (`JSONWritable`) instead of `JSONEncoder`: for the
/// responses read most (a history page, a sent message), where the encoder's generic machinery
/// cost more than the rest of the request.
public struct WrittenJSONBody<Value: JSONWritable & Sendable>: ResponseGenerator, Sendable {
    public var value: Value
    public var status: HTTPResponse.Status
    /// Bytes reserved up front: a value that knows its size saves the buffer's regrowth.
    public var capacity: Int

    public init(_ value: Value, status: HTTPResponse.Status = .ok, capacity: Int = 1024) {
        self.value = value
        self.status = status
        self.capacity = capacity
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONWriter(capacity: capacity)
        value.write(to: &writer)
        return Response.json(bytes: writer.bytes, status: status)
    }
}
