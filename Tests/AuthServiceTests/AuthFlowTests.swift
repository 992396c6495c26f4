import AuthService
import ChatterCore
import ChatterHTTP
import Foundation
import Logging
import SQLiteStorage
import Secrets
import Testing

/// Register, login, refresh rotation, reuse detection and logout against the real SQLite store.
@Suite struct AuthFlowTests {
    struct Harness {
        var store: SQLiteStore
        var service: AuthService
        var hasher: PasswordHasher

        /// A second service over the same store, as after a restart: nothing in memory survives.
        func restarted() async throws -> AuthService {
            let keys = try await FileSigningKeyStore(directory: (store.path as NSString).deletingLastPathComponent).loadOrCreateKeys()
            let service = AuthService(
                users: SQLiteUserRepository(store: store), sessions: SQLiteSessionRepository(store: store),
                tokens: try AccessTokens(keys: keys, issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900),
                hasher: hasher, revocations: InMemoryRevocationList(), refreshTokenTTL: 3600)
            try await service.restoreRevocations(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            return service
        }
    }

    func withHarness(_ body: (Harness) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteStore.open(path: directory + "/chatter.sqlite", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let keys = try await FileSigningKeyStore(directory: directory).loadOrCreateKeys()
            let hasher = PasswordHasher(cost: ChatterConfiguration().bcryptCost, threads: 2, queueLimit: 64)
            let service = AuthService(
                users: SQLiteUserRepository(store: store), sessions: SQLiteSessionRepository(store: store),
                tokens: try AccessTokens(keys: keys, issuer: "chatter", audience: "chatter-api", lifetimeSeconds: 900),
                hasher: hasher, revocations: InMemoryRevocationList(), refreshTokenTTL: 3600)
            do {
                try await body(Harness(store: store, service: service, hasher: hasher))
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }

    @Test func registerThenLoginCaseInsensitively() async throws {
        try await withHarness { harness in
            let registered = try await harness.service.register(username: "Alice", password: "correct horse", displayName: " Alice A. ")
            #expect(registered.user.username == "alice")
            #expect(registered.user.displayName == "Alice A.")
            #expect(registered.tokenType == "Bearer")
            #expect(registered.expiresIn == 900)
            let identity = try await harness.service.authenticate(bearer: registered.accessToken)
            #expect(identity.userID == registered.user.id)

            let login = try await harness.service.login(username: "ALICE", password: "correct horse")
            #expect(login.user == registered.user)
            #expect(login.refreshToken != registered.refreshToken)
            await expectCode(.usernameTaken) { _ = try await harness.service.register(username: "aLiCe", password: "another pass", displayName: nil) }
        }
    }

    @Test func wrongPasswordAndUnknownUserLookTheSame() async throws {
        try await withHarness { harness in
            _ = try await harness.service.register(username: "bob", password: "correct horse", displayName: nil)
            await expectCode(.invalidCredentials) { _ = try await harness.service.login(username: "bob", password: "wrong horse") }
            await expectCode(.invalidCredentials) { _ = try await harness.service.login(username: "nobody", password: "correct horse") }
        }
    }

    @Test func passwordsAreStoredAsBcryptWithCostAtLeast10() async throws {
        try await withHarness { harness in
            _ = try await harness.service.register(username: "carol", password: "correct horse", displayName: nil)
            let credentials = try #require(try await SQLiteUserRepository(store: harness.store).credentials(username: "carol"))
            #expect(credentials.passwordHash.hasPrefix("$2"))
            #expect(!credentials.passwordHash.contains("correct horse"))
            let cost = Int(credentials.passwordHash.split(separator: "$")[1]) ?? 0
            #expect(cost >= 10)
        }
    }

    @Test func refreshRotatesAndReuseRevokesTheFamily() async throws {
        try await withHarness { harness in
            let first = try await harness.service.register(username: "dave", password: "correct horse", displayName: nil)
            let second = try await harness.service.refresh(refreshToken: first.refreshToken)
            #expect(second.refreshToken != first.refreshToken)
            #expect(second.user == first.user)
            let third = try await harness.service.refresh(refreshToken: second.refreshToken)

            // Presenting the already-rotated second token again is theft: everything dies.
            await expectCode(.refreshTokenReused) { _ = try await harness.service.refresh(refreshToken: second.refreshToken) }
            await expectCode(.invalidRefreshToken) { _ = try await harness.service.refresh(refreshToken: third.refreshToken) }
            await expectCode(.unauthorized) { _ = try await harness.service.authenticate(bearer: third.accessToken) }
            await expectCode(.unauthorized) { _ = try await harness.service.authenticate(bearer: first.accessToken) }

            // Other sessions of the same user are untouched.
            let other = try await harness.service.login(username: "dave", password: "correct horse")
            #expect(try await harness.service.authenticate(bearer: other.accessToken).userID == first.user.id)
            // And the revocation holds after a restart.
            await expectCode(.unauthorized) { _ = try await harness.restarted().authenticate(bearer: third.accessToken) }
        }
    }

    @Test func garbageRefreshTokensAreRejected() async throws {
        try await withHarness { harness in
            for token in ["", "short", String(repeating: "A", count: 43), "🙂"] {
                await expectCode(.invalidRefreshToken) { _ = try await harness.service.refresh(refreshToken: token) }
            }
        }
    }

    @Test func logoutRevokesTokensAcrossRestarts() async throws {
        try await withHarness { harness in
            let session = try await harness.service.register(username: "erin", password: "correct horse", displayName: nil)
            let identity = try await harness.service.authenticate(bearer: session.accessToken)
            let otherDevice = try await harness.service.login(username: "erin", password: "correct horse")
            try await harness.service.logout(identity: identity, refreshToken: nil)
            await expectCode(.unauthorized) { _ = try await harness.service.authenticate(bearer: session.accessToken) }
            await expectCode(.invalidRefreshToken) { _ = try await harness.service.refresh(refreshToken: session.refreshToken) }
            #expect(try await harness.service.authenticate(bearer: otherDevice.accessToken).userID == session.user.id)

            let restarted = try await harness.restarted()
            await expectCode(.unauthorized) { _ = try await restarted.authenticate(bearer: session.accessToken) }
            #expect(try await restarted.authenticate(bearer: otherDevice.accessToken).userID == session.user.id)
        }
    }

    @Test func processesStartingTogetherOnOneKeysDirectoryAgreeOnTheKey() async throws {
        try await withTemporaryDirectory { directory in
            let loaded = try await withThrowingTaskGroup(of: [SigningKeyMaterial].self) { group in
                for _ in 0..<16 { group.addTask { try await FileSigningKeyStore(directory: directory).loadOrCreateKeys() } }
                return try await group.reduce(into: [[SigningKeyMaterial]]()) { $0.append($1) }
            }
            #expect(Set(loaded.map { $0.map(\.keyID) }).count == 1, "every starter uses the one installed key")
            #expect(try await FileSigningKeyStore(directory: directory).loadOrCreateKeys() == loaded[0])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func signingKeysPersistWithOwnerOnlyMode() async throws {
        try await withTemporaryDirectory { directory in
            let store = FileSigningKeyStore(directory: directory)
            let first = try await store.loadOrCreateKeys()
            let second = try await FileSigningKeyStore(directory: directory).loadOrCreateKeys()
            #expect(first == second)
            #expect(first.count == 1 && first[0].privateKey.count == 32)
            let attributes = try FileManager.default.attributesOfItem(atPath: store.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }
}

func expectCode(
    _ code: ChatterError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code) but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ChatterError {
        #expect(error.code == code, "\(error.debugDescription)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
