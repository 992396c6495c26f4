import ChatterCore
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Who made an authenticated request: the user and the login session the token belongs to.
public struct Identity: Sendable, Hashable {
    public var userID: String
    public var sessionID: String
    public var tokenID: String

    public init(userID: String, sessionID: String, tokenID: String) {
        self.userID = userID
        self.sessionID = sessionID
        self.tokenID = tokenID
    }
}

/// Turns a bearer token into an `Identity`, or throws `unauthorized`.
public protocol BearerAuthenticator: Sendable {
    func authenticate(bearer token: String) async throws -> Identity
}

/// The per-request context every role's routes run with.
public struct ChatterRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Where the `/v1/ws` route leaves its handler for the upgrade.
    public let webSocket = WebSocketHandlerReference<ChatterRequestContext>()
    /// Echoed in `X-Request-Id` and logged with every line about this request.
    public var requestID = ""
    /// Set by the authentication middleware on routes that need a token.
    public var identity: Identity?
    /// Set from configuration by the request-id middleware before any body is read.
    public var maxUploadSize = 64 * 1024

    /// The connection the request arrived on; the real-time role closes it outright when a
    /// client stops reading and cannot even be sent a close frame.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var requestDecoder: ChatterJSONDecoder { ChatterJSONDecoder() }
    public var responseEncoder: ChatterJSONEncoder { ChatterJSONEncoder() }

    /// The caller's identity; routes behind the authentication middleware always have one.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw ChatterError(.unauthorized, "authentication required") }
        return identity
    }
}

extension BearerAuthenticator {
    /// Authenticates the value of an `Authorization` header, which must be `Bearer <token>`.
    public func authenticate(authorizationHeader header: String) async throws -> Identity {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ChatterError(.unauthorized, "authorization must be a bearer token")
        }
        return try await authenticate(bearer: String(parts[1].drop(while: { $0 == " " })))
    }
}
