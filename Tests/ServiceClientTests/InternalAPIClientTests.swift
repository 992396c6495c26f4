import ChatterCore
import ChatterHTTP
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceClient
import Testing

/// Role-to-role calls: the owner's errors arrive as the same error, an unreachable instance is
/// skipped, and no instance at all is a 503.
@Suite struct InternalAPIClientTests {
    struct Echo: Codable, Sendable, Equatable {
        var value: String
    }

    static func owner(_ router: Router<BasicRequestContext>) {
        router.post("/internal/v1/echo") { request, _ in
            guard request.headers[InternalAPI.tokenHeader] == "secret-token-0123456789" else {
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"forbidden","message":"no"}}"#)))
            }
            let body = try await request.body.collect(upTo: 1 << 16)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        router.post("/internal/v1/invalid") { _, _ in
            Response(status: .unprocessableContent,
                     body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"validation_failed","message":"body is too long"}}"#)))
        }
        router.get("/internal/v1/broken") { _, _ in
            Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"internal_error","message":"x"}}"#)))
        }
    }

    func client(_ endpoints: [ServiceEndpoint], token: String = "secret-token-0123456789") -> InternalAPIClient {
        // Generous: the first test pass runs everything at once on two cores.
        InternalAPIClient(
            role: .messaging, endpoints: endpoints, token: token, http: ServiceHTTPClient(configuration: .patient), timeout: .seconds(20))
    }

    @Test func answersAndErrorsCrossAsTheOwnerGaveThem() async throws {
        try await withServer(Self.owner) { endpoint in
            let api = client([endpoint])
            let echoed = try await api.call(.post, "/internal/v1/echo", body: Echo(value: "hi"), as: Echo.self)
            #expect(echoed == Echo(value: "hi"))
            let invalid = await #expect(throws: ChatterError.self) {
                try await api.call(.post, "/internal/v1/invalid", body: Echo(value: ""), as: Echo.self)
            }
            #expect(invalid?.code.rawValue == "validation_failed")
            #expect(invalid?.code.status == 422)
            #expect(invalid?.message == "body is too long")
            let broken = await #expect(throws: ChatterError.self) { try await api.call(.get, "/internal/v1/broken", as: Echo.self) }
            #expect(broken?.code == .unavailable)
            let wrongToken = await #expect(throws: ChatterError.self) {
                try await client([endpoint], token: "another-token-000000").call(.post, "/internal/v1/echo", body: Echo(value: "x"), as: Echo.self)
            }
            #expect(wrongToken?.code == .internalError)
        }
    }

    @Test func anUnreachableInstanceIsSkipped() async throws {
        let dead = try await withServer({ _ in }) { $0 }
        try await withServer(Self.owner) { live in
            let api = client([dead, live])
            // Whichever instance the round robin starts with, every call lands on the live one.
            for index in 0..<6 {
                let echoed = try await api.call(.post, "/internal/v1/echo", body: Echo(value: "\(index)"), as: Echo.self)
                #expect(echoed.value == "\(index)")
            }
        }
    }

    @Test func noInstanceIsUnavailable() async throws {
        let dead = try await withServer({ _ in }) { $0 }
        let error = await #expect(throws: ChatterError.self) {
            try await client([dead]).call(.post, "/internal/v1/echo", body: Echo(value: "x"), as: Echo.self)
        }
        #expect(error?.code == .unavailable)
        let none = await #expect(throws: ChatterError.self) { try await client([]).call(.get, "/internal/v1/echo", as: Echo.self) }
        #expect(none?.code == .unavailable)
    }

    @Test func pathSegmentsAreEscaped() {
        #expect("abc-123_x.y~".pathEscaped == "abc-123_x.y~")
        #expect("a/b?c#d e".pathEscaped == "a%2Fb%3Fc%23d%20e")
        #expect("é".pathEscaped == "%C3%A9")
    }
}
