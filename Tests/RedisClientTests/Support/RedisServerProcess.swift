import Foundation
import NIOCore
import NIOPosix
import RedisClient

/// A `redis-server` the test starts as a child process on 127.0.0.1, with no persistence,
/// and kills by PID. Tests that need one are skipped when the binary is not installed.
final class RedisServerProcess {
    /// `redis-server` from `PATH`, or `nil` if it is not installed.
    static let binary: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin"
        return path.split(separator: ":").map { "\($0)/redis-server" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let port: Int
    private let extraArguments: [String]
    private let directory: URL
    private var process: Process?

    init(port: Int, extraArguments: [String] = []) {
        self.port = port
        self.extraArguments = extraArguments
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatter-redis-\(UUID().uuidString)")
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    var configuration: RedisConfiguration {
        Self.patient(RedisConfiguration(port: port))
    }

    /// `configuration` with the timeouts these tests use: long enough for a server and a
    /// client that share two cores with the rest of the suite.
    static func patient(_ configuration: RedisConfiguration) -> RedisConfiguration {
        var configuration = configuration
        configuration.connectTimeout = .seconds(4)
        configuration.commandTimeout = .seconds(3)
        configuration.connectionRequestTimeout = .seconds(4)
        configuration.reconnectMaximumDelay = .milliseconds(500)
        return configuration
    }

    /// Starts the server and waits (up to 10 s) until it answers.
    func start() async throws {
        guard let binary = Self.binary else { throw ServerError("redis-server is not installed") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", directory.path, "--loglevel", "warning",
        ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var probe = configuration
        probe.password = extraArguments.firstIndex(of: "--requirepass").map { extraArguments[$0 + 1] }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw ServerError("redis-server exited at start (port \(port) taken?)") }
            if await TestRedis.answersPing(probe) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill()
        throw ServerError("redis-server did not answer on port \(port)")
    }

    /// Kills the server with SIGKILL, by PID, and reaps it.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Stops the process (SIGSTOP): connections are still accepted, nothing is answered.
    func freeze() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGSTOP)
    }

    /// Lets a frozen process go on (SIGCONT).
    func thaw() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGCONT)
    }

    /// A TCP port nothing listens on right now (bound once, then released).
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw ServerError("no local port") }
        return port
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Runs `body` with a fresh server on a free port, killed afterwards whatever happens.
func withRedisServer<T>(
    extraArguments: [String] = [], _ body: (RedisServerProcess) async throws -> T
) async throws -> T {
    let server = RedisServerProcess(port: try await RedisServerProcess.freePort(), extraArguments: extraArguments)
    defer { server.kill() }
    try await server.start()
    return try await body(server)
}
