import ChatterCore
import Testing

@Suite struct UserRepositoryContract {
    @Test(arguments: StoreBackend.all)
    func createFindAndUniqueness(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let alice = makeUser("alice")
            try await store.users.create(alice, passwordHash: "hash-a")
            #expect(try await store.users.user(id: alice.id) == alice)
            #expect(try await store.users.user(id: "missing") == nil)
            let credentials = try #require(try await store.users.credentials(username: "ALICE"))
            #expect(credentials.user == alice)
            #expect(credentials.passwordHash == "hash-a")
            do {
                try await store.users.create(makeUser("alice"), passwordHash: "hash-b")
                Issue.record("duplicate username was stored")
            } catch let error as ChatterError {
                #expect(error.code == .usernameTaken)
            }
            // The failed insert changed nothing.
            #expect(try await store.users.credentials(username: "alice")?.passwordHash == "hash-a")
        }
    }

    @Test(arguments: StoreBackend.all)
    func searchByPrefixInOrder(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            for name in ["alba", "albert", "alice", "bob", "al_x", "alz"] {
                try await store.users.create(makeUser(name), passwordHash: "h")
            }
            #expect(try await store.users.search(prefix: "al", limit: 10).map(\.username) == ["al_x", "alba", "albert", "alice", "alz"])
            #expect(try await store.users.search(prefix: "alb", limit: 1).map(\.username) == ["alba"])
            #expect(try await store.users.search(prefix: "zz", limit: 10).isEmpty)
            #expect(try await store.users.search(prefix: "", limit: 2).count == 2)
        }
    }

    @Test(arguments: StoreBackend.all)
    func lookupManyIDs(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let users = (0..<5).map { makeUser("user\($0)") }
            for user in users { try await store.users.create(user, passwordHash: "h") }
            let found = try await store.users.users(ids: [users[0].id, users[3].id, "nope"])
            #expect(Set(found.map(\.id)) == [users[0].id, users[3].id])
            #expect(try await store.users.users(ids: []).isEmpty)
        }
    }
}

@Suite struct SessionRepositoryContract {
    func setUp(_ store: StoreUnderTest) async throws -> SessionRecord {
        let user = makeUser("sam")
        try await store.users.create(user, passwordHash: "h")
        let session = SessionRecord(id: Identifier.make(), userID: user.id, createdAt: .now())
        try await store.sessions.createSession(session, tokenHash: "t1", expiresAt: Timestamp.now().adding(seconds: 3600))
        return session
    }

    @Test(arguments: StoreBackend.all)
    func rotationAndReuse(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let session = try await setUp(store)
            let now = Timestamp.now()
            let expiry = now.adding(seconds: 3600)
            #expect(try await store.sessions.rotate(tokenHash: "t1", newTokenHash: "t2", now: now, newExpiresAt: expiry) == .rotated(session))
            #expect(try await store.sessions.session(tokenHash: "t1")?.id == session.id)
            #expect(try await store.sessions.rotate(tokenHash: "t2", newTokenHash: "t3", now: now, newExpiresAt: expiry) == .rotated(session))
            #expect(try await store.sessions.rotate(tokenHash: "t1", newTokenHash: "t4", now: now, newExpiresAt: expiry)
                    == .reused(sessionID: session.id, userID: session.userID))
            #expect(try await store.sessions.session(id: session.id)?.revokedAt != nil)
            #expect(try await store.sessions.rotate(tokenHash: "t3", newTokenHash: "t5", now: now, newExpiresAt: expiry) == .rejected)
            #expect(try await store.sessions.rotate(tokenHash: "unknown", newTokenHash: "t6", now: now, newExpiresAt: expiry) == .rejected)
        }
    }

    @Test(arguments: StoreBackend.all)
    func expiredTokensAreRejected(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            _ = try await setUp(store)
            let later = Timestamp.now().adding(seconds: 7200)
            #expect(try await store.sessions.rotate(tokenHash: "t1", newTokenHash: "t2", now: later, newExpiresAt: later.adding(seconds: 60)) == .rejected)
        }
    }

    @Test(arguments: StoreBackend.all)
    func concurrentRotationOfOneTokenHasOneWinner(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let session = try await setUp(store)
            let outcomes = try await withThrowingTaskGroup(of: RefreshRotation.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await store.sessions.rotate(
                            tokenHash: "t1", newTokenHash: "n\(index)", now: .now(), newExpiresAt: Timestamp.now().adding(seconds: 60))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .rotated(session) }.count == 1)
            #expect(outcomes.contains(.reused(sessionID: session.id, userID: session.userID)))
            #expect(try await store.sessions.session(id: session.id)?.revokedAt != nil, "the losers' reuse revokes the family")
        }
    }

    @Test(arguments: StoreBackend.all)
    func revokeAndListRevoked(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let session = try await setUp(store)
            let before = Timestamp.now().adding(seconds: -1)
            #expect(try await store.sessions.revokedSessions(since: before).isEmpty)
            #expect(try await store.sessions.revoke(sessionID: session.id, at: .now()))
            #expect(try await !store.sessions.revoke(sessionID: session.id, at: .now()))
            #expect(try await !store.sessions.revoke(sessionID: "missing", at: .now()))
            #expect(try await store.sessions.revokedSessions(since: before) == [session.id])
            #expect(try await store.sessions.revokedSessions(since: Timestamp.now().adding(seconds: 60)).isEmpty)
            #expect(try await store.sessions.rotate(tokenHash: "t1", newTokenHash: "t2", now: .now(), newExpiresAt: .now()) == .rejected)
        }
    }
}
