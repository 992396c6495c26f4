import Foundation

/// A parsed JSON value, decoded with `JSONDecoder` and handed to tests as plain Swift values
/// (`String`, `Int`, `Double`, `Bool`, `[String: Any]`, `[Any]`, `NSNull`).
enum JSONValue: Decodable {
    case string(String), number(Double), integer(Int), bool(Bool), object([String: JSONValue]), array([JSONValue]), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var plain: Any {
        switch self {
        case .string(let value): value
        case .number(let value): value
        case .integer(let value): value
        case .bool(let value): value
        case .object(let value): value.mapValues(\.plain)
        case .array(let value): value.map(\.plain)
        case .null: NSNull()
        }
    }

    /// The top-level object of `text`, or an empty one when it is not a JSON object.
    static func object(from text: String) -> [String: Any] {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)).plain) as? [String: Any] ?? [:]
    }
}
