/// A role the gateway can forward requests to. A struct with static members rather than an
/// enum, so roles can be added without breaking anyone's exhaustive switch.
public struct UpstreamRole: Sendable, Hashable, CustomStringConvertible {
    /// The role's name as `--role` spells it.
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    public var description: String { name }

    public static let auth = UpstreamRole("auth")
    public static let chat = UpstreamRole("chat")
    public static let messaging = UpstreamRole("messaging")
    public static let notification = UpstreamRole("notification")

    /// Every role behind the gateway, in the order the route table lists them.
    public static let all: [UpstreamRole] = [.auth, .chat, .messaging, .notification]
}
