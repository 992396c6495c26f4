import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceClient
import ServiceLifecycle
import Synchronization
import Testing

/// Runs a small Hummingbird server on a free loopback port for the duration of `body`.
func withServer<T: Sendable>(
    _ configure: (Router<BasicRequestContext>) -> Void, _ body: @Sendable (ServiceEndpoint) async throws -> T
) async throws -> T {
    let router = Router()
    configure(router)
    let port = Mutex<Int?>(nil)
    let started = AsyncStream<Void>.makeStream()
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            port.withLock { $0 = channel.localAddress?.port }
            started.continuation.yield()
        },
        logger: Logger(label: "test-upstream"))
    return try await withThrowingTaskGroup(of: T?.self) { group in
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test-upstream")))
        group.addTask {
            try await serviceGroup.run()
            return nil
        }
        for await _ in started.stream { break }
        let endpoint = ServiceEndpoint(host: "127.0.0.1", port: port.withLock { $0 }!)
        do {
            let result = try await body(endpoint)
            await serviceGroup.triggerGracefulShutdown()
            while let _ = try await group.next() {}
            return result
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            while let _ = try? await group.next() {}
            throw error
        }
    }
}

@Suite struct ServiceHTTPClientTests {
    @Test func getAndPostRoundTrip() async throws {
        try await withServer({ router in
            router.get("/hello") { request, _ in
                Response(status: .ok, headers: [.contentType: "text/plain", HTTPField.Name("X-Echo")!: request.headers[HTTPField.Name("X-Ask")!] ?? ""],
                         body: .init(byteBuffer: ByteBuffer(string: "hi")))
            }
            router.post("/echo") { request, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                return Response(status: .created, body: .init(byteBuffer: body))
            }
        }) { endpoint in
            let client = ServiceHTTPClient(configuration: .patient)
            let get = try await client.execute(
                ServiceRequest(method: .get, path: "/hello", headerFields: [HTTPField.Name("X-Ask")!: "question"]), on: endpoint)
            #expect(get.status == .ok)
            #expect(String(buffer: get.body) == "hi")
            #expect(get.headerFields[HTTPField.Name("X-Echo")!] == "question")
            // Several calls in a row, on the kept-alive connection.
            for index in 0..<5 {
                let post = try await client.execute(
                    ServiceRequest(method: .post, path: "/echo", body: ByteBuffer(string: "{\"n\":\(index)}")), on: endpoint)
                #expect(post.status == .created)
                #expect(String(buffer: post.body) == "{\"n\":\(index)}")
            }
            let missing = try await client.execute(ServiceRequest(method: .get, path: "/nope"), on: endpoint)
            #expect(missing.status == .notFound)
            await client.shutdown()
        }
    }

    @Test func concurrentCallsEachGetTheirOwnAnswer() async throws {
        try await withServer({ router in
            router.get("/n/:n") { _, context in
                try await Task.sleep(for: .milliseconds(5))
                return context.parameters.get("n") ?? ""
            }
        }) { endpoint in
            let client = ServiceHTTPClient(configuration: .patient)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let response = try await client.execute(ServiceRequest(method: .get, path: "/n/\(index)"), on: endpoint)
                        return (index, String(buffer: response.body))
                    }
                }
                var seen = 0
                for try await (index, body) in group {
                    #expect(body == "\(index)")
                    seen += 1
                }
                #expect(seen == 40)
            }
            await client.shutdown()
        }
    }

    @Test func refusedConnectionSaysNothingWasSent() async throws {
        // A port that was just free: nothing listens there.
        let endpoint = try await withServer({ _ in }) { $0 }
        let client = ServiceHTTPClient(configuration: .patient)
        let error = await #expect(throws: ServiceClientError.self) {
            try await client.execute(ServiceRequest(method: .post, path: "/x"), on: endpoint)
        }
        #expect(error?.code == .connectFailed)
        #expect(error?.requestSent == false)
    }

    @Test func slowAnswerTimesOutAsSent() async throws {
        try await withServer({ router in
            router.get("/fast") { _, _ in "ok" }
            router.get("/slow") { _, _ in
                try await Task.sleep(for: .seconds(2))
                return "late"
            }
        }) { endpoint in
            let configuration = ServiceHTTPClient.Configuration.patient
            let client = ServiceHTTPClient(configuration: configuration)
            // A kept-alive connection first, so the budget below is spent waiting for the
            // answer, not connecting (which a busy test machine can make slow).
            _ = try await client.execute(ServiceRequest(method: .get, path: "/fast"), on: endpoint)
            let error = await #expect(throws: ServiceClientError.self) {
                try await client.execute(ServiceRequest(method: .get, path: "/slow"), on: endpoint, timeout: .milliseconds(500))
            }
            #expect(error?.code == .timeout)
            #expect(error?.requestSent == true)
            await client.shutdown()
        }
    }

    @Test func oversizedAnswerIsRefused() async throws {
        try await withServer({ router in
            router.get("/big") { _, _ in String(repeating: "x", count: 10_000) }
        }) { endpoint in
            var configuration = ServiceHTTPClient.Configuration.patient
            configuration.maxResponseBytes = 1000
            let client = ServiceHTTPClient(configuration: configuration)
            let error = await #expect(throws: ServiceClientError.self) {
                try await client.execute(ServiceRequest(method: .get, path: "/big"), on: endpoint)
            }
            #expect(error?.code == .responseTooLarge)
            await client.shutdown()
        }
    }

    @Test func endpointURLs() throws {
        #expect(try ServiceEndpoint(url: "http://127.0.0.1:8081") == ServiceEndpoint(host: "127.0.0.1", port: 8081))
        #expect(try ServiceEndpoint(url: "http://chat-1.internal:80/") == ServiceEndpoint(host: "chat-1.internal", port: 80))
        #expect(try ServiceEndpoint(url: "http://[::1]:9000").authority == "[::1]:9000")
        #expect(try ServiceEndpoint.list("http://a:1, http://b:2,") == [ServiceEndpoint(host: "a", port: 1), ServiceEndpoint(host: "b", port: 2)])
        for bad in ["https://a:1", "http://a", "http://a:0", "http://a:1/path", "http://u@a:1", "a:1", "http://:1"] {
            #expect(throws: ServiceClientError.self) { try ServiceEndpoint(url: bad) }
        }
    }
}

extension ServiceHTTPClient.Configuration {
    /// For tests: a loopback connect can wait seconds for a core while every suite runs at once.
    static var patient: Self {
        var configuration = Self()
        configuration.connectTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(30)
        return configuration
    }
}
