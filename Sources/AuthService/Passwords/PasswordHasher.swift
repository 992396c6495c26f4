import ChatterCore
import HummingbirdBcrypt
import NIOPosix
import ServiceLifecycle
import Synchronization

/// bcrypt on its own small thread pool.
///
/// A hash costs tens of milliseconds of CPU on purpose. Running it on the event loops or the
/// cooperative pool would let a login flood stall message traffic; here it queues on dedicated
/// threads, and once `queueLimit` hashes are waiting further logins get 503 instead of piling up.
public final class PasswordHasher: Service, Sendable {
    private let pool: NIOThreadPool
    private let cost: UInt8
    private let queueLimit: Int
    private let inFlight = Atomic<Int>(0)
    /// A real hash to verify against when the username is unknown, so that answering
    /// "no such user" takes as long as "wrong password".
    private let decoyHash = Mutex<String?>(nil)

    public init(cost: Int, threads: Int, queueLimit: Int) {
        self.cost = UInt8(clamping: cost)
        self.queueLimit = queueLimit
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await submit { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await submit { Bcrypt.verify(password, hash: hash) }
    }

    /// Spends the same work as a real verification and always fails.
    public func verifyDecoy(_ password: String) async throws {
        let decoy: String
        if let cached = decoyHash.withLock({ $0 }) {
            decoy = cached
        } else {
            decoy = try await hash(Base64URL.encode(Identifier.randomBytes(16)))
            decoyHash.withLock { $0 = decoy }
        }
        _ = try await verify(password, against: decoy)
    }

    private func submit<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let waiting = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
        defer { inFlight.wrappingSubtract(1, ordering: .relaxed) }
        guard waiting <= queueLimit else {
            throw ChatterError.unavailable("password service", detail: "password hashing queue is full (\(queueLimit))")
        }
        return try await pool.runIfActive(work)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdownGracefully()
    }
}
