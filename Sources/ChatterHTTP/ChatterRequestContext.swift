import ChatterCore
import Hummingbird

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
public struct ChatterRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id` and logged with every line about this request.
    public var requestID = ""
    /// Set by the authentication middleware on routes that need a token.
    public var identity: Identity?
    /// Set from configuration by the request-id middleware before any body is read.
    public var maxUploadSize = 64 * 1024

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var requestDecoder: ChatterJSONDecoder { ChatterJSONDecoder() }
    public var responseEncoder: ChatterJSONEncoder { ChatterJSONEncoder() }

    /// The caller's identity; routes behind the authentication middleware always have one.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw ChatterError(.unauthorized, "authentication required") }
        return identity
    }
}
