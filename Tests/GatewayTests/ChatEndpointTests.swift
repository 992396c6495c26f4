import HTTPTypes
import Testing

@Suite struct ChatEndpointTests {
    @Test func directChatsAreIdempotentPerPair() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let created = try await api.call(.post, "/v1/chats", token: alice.token, json: ["type": "direct", "member_ids": [bob.id]])
            #expect(created.status == .created)
            #expect(created.string("type") == "direct")
            #expect(created["title"] == nil)
            #expect(created["last_seq"] as? Int == 0 && created["unread_count"] as? Int == 0)
            #expect(Set(created.array("members").compactMap { $0["user_id"] as? String }) == [alice.id, bob.id])
            let again = try await api.call(.post, "/v1/chats", token: bob.token, json: ["type": "direct", "member_ids": [alice.id]])
            #expect(again.status == .ok)
            #expect(again.string("id") == created.string("id"))

            let withSelf = try await api.call(.post, "/v1/chats", token: alice.token, json: ["type": "direct", "member_ids": [alice.id]])
            #expect(withSelf.status == .unprocessableContent)
            let unknown = try await api.call(.post, "/v1/chats", token: alice.token, json: ["type": "direct", "member_ids": ["ghost"]])
            #expect(unknown.status == .unprocessableContent)
            let two = try await api.call(.post, "/v1/chats", token: alice.token, json: ["type": "direct", "member_ids": [bob.id, "x"]])
            #expect(two.status == .unprocessableContent)
            let badType = try await api.call(.post, "/v1/chats", token: alice.token, json: ["type": "channel", "member_ids": [bob.id]])
            #expect(badType.status == .unprocessableContent)
            #expect(try await api.call(.post, "/v1/chats", json: ["type": "direct", "member_ids": [bob.id]]).status == .unauthorized)
        }
    }

    @Test func groupsRolesAndVisibility() async throws {
        try await withApp { api in
            let owner = try await api.register("owner")
            let member = try await api.register("member")
            let outsider = try await api.register("outsider")
            let chatID = try await api.createGroup(owner.token, title: "Book club", members: [member.id])
            let chat = try await api.call(.get, "/v1/chats/\(chatID)", token: member.token)
            #expect(chat.status == .ok && chat.string("title") == "Book club")
            let roles = Dictionary(uniqueKeysWithValues: chat.array("members").map { ($0["user_id"] as! String, $0["role"] as! String) })
            #expect(roles == [owner.id: "owner", member.id: "member"])

            let hidden = try await api.call(.get, "/v1/chats/\(chatID)", token: outsider.token)
            #expect(hidden.status == .notFound && hidden.errorCode == "not_found")
            #expect(try await api.call(.get, "/v1/chats/nonexistent", token: owner.token).status == .notFound)
            #expect(try await api.call(.post, "/v1/chats", token: owner.token, json: ["type": "group", "member_ids": []]).status == .unprocessableContent)

            // Title: admins only.
            let forbidden = try await api.call(.patch, "/v1/chats/\(chatID)", token: member.token, json: ["title": "Mine"])
            #expect(forbidden.status == .forbidden && forbidden.errorCode == "forbidden")
            let renamed = try await api.call(.patch, "/v1/chats/\(chatID)", token: owner.token, json: ["title": "Readers"])
            #expect(renamed.status == .ok && renamed.string("title") == "Readers")
            #expect(try await api.call(.patch, "/v1/chats/\(chatID)", token: outsider.token, json: ["title": "x"]).status == .notFound)
            #expect(try await api.call(.patch, "/v1/chats/\(chatID)", token: owner.token, json: ["title": ""]).status == .unprocessableContent)

            // Members: admins add; members cannot.
            let denied = try await api.call(.post, "/v1/chats/\(chatID)/members", token: member.token, json: ["user_id": outsider.id])
            #expect(denied.status == .forbidden)
            let added = try await api.call(.post, "/v1/chats/\(chatID)/members", token: owner.token, json: ["user_id": outsider.id, "role": "admin"])
            #expect(added.status == .created)
            #expect(added.string("user_id") == outsider.id && added.string("role") == "admin" && added.string("joined_at") != nil)
            let duplicate = try await api.call(.post, "/v1/chats/\(chatID)/members", token: owner.token, json: ["user_id": outsider.id])
            #expect(duplicate.status == .conflict)
            let ownerRole = try await api.call(.post, "/v1/chats/\(chatID)/members", token: owner.token, json: ["user_id": member.id, "role": "owner"])
            #expect(ownerRole.status == .unprocessableContent)
            let ghost = try await api.call(.post, "/v1/chats/\(chatID)/members", token: owner.token, json: ["user_id": "ghost"])
            #expect(ghost.status == .unprocessableContent)
            #expect(try await api.call(.get, "/v1/chats/\(chatID)", token: outsider.token).status == .ok)

            // Removal: an admin may remove a member but not the owner; anyone may leave.
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/members/\(owner.id)", token: outsider.token).status == .forbidden)
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/members/\(outsider.id)", token: member.token).status == .forbidden)
            // A send right before and right after removal: the membership the first send
            // cached must not let the second through.
            #expect(try await api.send(member.token, chatID, "still here").status == .created)
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/members/\(member.id)", token: outsider.token).status == .noContent)
            #expect(try await api.send(member.token, chatID, "gone").status == .notFound)
            #expect(try await api.call(.get, "/v1/chats/\(chatID)", token: member.token).status == .notFound)
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/members/\(member.id)", token: owner.token).status == .notFound)
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/members/\(outsider.id)", token: outsider.token).status == .noContent)
            #expect(try await api.call(.get, "/v1/chats/\(chatID)", token: outsider.token).status == .notFound)
        }
    }

    @Test func directChatsHaveNoTitleOrMembership() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let carol = try await api.register("carol")
            let chat = try await api.call(.post, "/v1/chats", token: alice.token, json: ["type": "direct", "member_ids": [bob.id]])
            let chatID = try #require(chat.string("id"))
            #expect(try await api.call(.patch, "/v1/chats/\(chatID)", token: alice.token, json: ["title": "x"]).status == .unprocessableContent)
            #expect(try await api.call(.post, "/v1/chats/\(chatID)/members", token: alice.token, json: ["user_id": carol.id]).status == .unprocessableContent)
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/members/\(alice.id)", token: alice.token).status == .unprocessableContent)
        }
    }

    @Test func chatListIsOrderedByActivityWithCursorPaging() async throws {
        try await withApp { api in
            let me = try await api.register("mee")
            let friend = try await api.register("friend")
            var chatIDs: [String] = []
            for index in 0..<5 {
                chatIDs.append(try await api.createGroup(me.token, title: "Group \(index)", members: [friend.id]))
            }
            // Activity in chat 1 moves it to the top.
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await api.send(friend.token, chatIDs[1], "bump").status == .created)

            let first = try await api.call(.get, "/v1/chats?limit=2", token: me.token)
            #expect(first.status == .ok)
            let firstIDs = first.array("chats").compactMap { $0["id"] as? String }
            #expect(firstIDs == [chatIDs[1], chatIDs[4]])
            let top = try #require(first.array("chats").first)
            #expect(top["unread_count"] as? Int == 1 && top["last_seq"] as? Int == 1)
            #expect((top["last_message"] as? [String: Any])?["body"] as? String == "bump")
            var seen = firstIDs
            var cursor = first.string("next_cursor")
            while let next = cursor {
                let page = try await api.call(.get, "/v1/chats?limit=2&cursor=\(next)", token: me.token)
                #expect(page.status == .ok)
                seen += page.array("chats").compactMap { $0["id"] as? String }
                cursor = page.string("next_cursor")
            }
            #expect(seen == [chatIDs[1], chatIDs[4], chatIDs[3], chatIDs[2], chatIDs[0]])
            #expect(try await api.call(.get, "/v1/chats?cursor=%%%", token: me.token).status == .badRequest)
            #expect(try await api.call(.get, "/v1/chats?limit=0", token: me.token).status == .badRequest)
            let outsider = try await api.register("outsider")
            #expect(try await api.call(.get, "/v1/chats", token: outsider.token).array("chats").isEmpty)
        }
    }
}
