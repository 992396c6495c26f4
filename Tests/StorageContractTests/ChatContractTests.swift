import ChatterCore
import Testing

@Suite struct ChatRepositoryContract {
    @Test(arguments: StoreBackend.all)
    func groupsRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let group = makeGroup(owner: "u1", members: ["u2", "u3"])
            try await store.chats.createGroup(group)
            let loaded = try #require(try await store.chats.chat(id: group.id))
            #expect(loaded.id == group.id && loaded.type == .group && loaded.title == "Team" && loaded.createdBy == "u1")
            #expect(Set(loaded.members) == Set(group.members))
            #expect(try await store.chats.chat(id: "missing") == nil)
            #expect(try await store.chats.memberships(userID: "u2").map(\.chatID) == [group.id])
            #expect(try await store.chats.memberships(userID: "u9").isEmpty)
            #expect(try await store.chats.chats(ids: [group.id, "missing"]).map(\.id) == [group.id])
            let events = try await store.outbox()
            #expect(events.map(\.kind) == [.chatCreated])
            #expect(events.first?.chat?.members.count == 3)
        }
    }

    @Test(arguments: StoreBackend.all)
    func directChatsAreOnePerPair(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            func direct(_ a: String, _ b: String) -> ChatRecord {
                let now = Timestamp.now()
                return ChatRecord(id: Identifier.make(at: now), type: .direct, title: nil, createdBy: a, createdAt: now,
                                  members: [Member(userID: a, role: .member, joinedAt: now), Member(userID: b, role: .member, joinedAt: now)])
            }
            let first = try await store.chats.createDirect(direct("u1", "u2"))
            #expect(first.created)
            let again = try await store.chats.createDirect(direct("u2", "u1"))
            #expect(!again.created)
            #expect(again.chat.id == first.chat.id)
            // Racing creators still end with one chat.
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await store.chats.createDirect(direct("u3", "u4")).chat.id } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(try await store.outbox().filter { $0.kind == .chatCreated }.count == 2)
        }
    }

    @Test(arguments: StoreBackend.all)
    func membersAndTitles(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let group = makeGroup(owner: "u1", members: ["u2"])
            try await store.chats.createGroup(group)
            let renamed = try await store.chats.updateTitle(chatID: group.id, title: "Renamed", at: .now())
            #expect(renamed.title == "Renamed")
            let member = Member(userID: "u3", role: .admin, joinedAt: .now())
            #expect(try await store.chats.upsertMember(chatID: group.id, member: member, at: .now()))
            #expect(try await !store.chats.upsertMember(chatID: group.id, member: member, at: .now()))
            #expect(try await store.chats.chat(id: group.id)?.member("u3")?.role == .admin)
            #expect(try await store.chats.removeMember(chatID: group.id, userID: "u2", at: .now()))
            #expect(try await !store.chats.removeMember(chatID: group.id, userID: "u2", at: .now()))
            #expect(try await store.chats.memberships(userID: "u2").isEmpty)
            #expect(try await store.chats.membership(chatID: group.id, userID: "u2") == nil)
            #expect(try await store.chats.membership(chatID: group.id, userID: "u3") == Membership(chatType: .group, role: .admin))
            #expect(try await store.chats.membership(chatID: group.id, userID: "u1") == Membership(chatType: .group, role: .owner))
            #expect(try await store.chats.membership(chatID: "missing", userID: "u1") == nil)
            let kinds = try await store.outbox().map(\.kind)
            #expect(kinds == [.chatCreated, .chatUpdated, .memberAdded, .memberRemoved])
        }
    }

    @Test(arguments: StoreBackend.all)
    func ownerLeavingHandsOverToAnAdminFirst(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let group = makeGroup(owner: "u1", members: ["u2"])
            try await store.chats.createGroup(group)
            let later = Timestamp.now().adding(seconds: 5)
            _ = try await store.chats.upsertMember(chatID: group.id, member: Member(userID: "u3", role: .admin, joinedAt: later), at: later)
            #expect(try await store.chats.removeMember(chatID: group.id, userID: "u1", at: .now()))
            let chat = try #require(try await store.chats.chat(id: group.id))
            #expect(chat.member("u3")?.role == .owner)
            #expect(chat.member("u2")?.role == .member)
            // Without admins the longest-standing member takes over.
            #expect(try await store.chats.removeMember(chatID: group.id, userID: "u3", at: .now()))
            #expect(try await store.chats.chat(id: group.id)?.member("u2")?.role == .owner)
        }
    }

    @Test(arguments: StoreBackend.all)
    func aFailingWriteAmongConcurrentOnesChangesNothingAndHarmsNoOther(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let existing = makeGroup(owner: "u0")
            try await store.chats.createGroup(existing)
            let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for index in 0..<30 {
                    group.addTask {
                        // Every third write reuses an existing id and must fail on its own.
                        var chat = makeGroup(owner: "u\(index)", members: ["m\(index)"])
                        if index % 3 == 0 { chat.id = existing.id }
                        do {
                            try await store.chats.createGroup(chat)
                            return (chat.id, true)
                        } catch {
                            return (chat.id, false)
                        }
                    }
                }
                return try await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            #expect(outcomes.filter { !$0.1 }.count == 10)
            for (id, succeeded) in outcomes where succeeded {
                #expect(try await store.chats.chat(id: id)?.members.count == 2)
            }
            #expect(try await store.chats.chat(id: existing.id)?.members.map(\.userID) == ["u0"])
            #expect(try await store.outbox().filter { $0.kind == .chatCreated }.count == 21)
        }
    }
}
