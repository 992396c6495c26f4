import Foundation
import HTTPTypes
import Testing

@Suite struct MessageEndpointTests {
    @Test func sendIsIdempotentPerClientMessageID() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chatID = try await api.createGroup(alice.token, members: [bob.id])
            let sent = try await api.send(alice.token, chatID, "hello", clientID: "c-1")
            #expect(sent.status == .created)
            #expect(sent["seq"] as? Int == 1 && sent.string("body") == "hello" && sent.string("client_msg_id") == "c-1")
            #expect(sent.string("chat_id") == chatID && sent.string("sender_id") == alice.id && sent["deleted"] as? Bool == false)
            let retry = try await api.send(alice.token, chatID, "hello again", clientID: "c-1")
            #expect(retry.status == .ok)
            #expect(retry.string("id") == sent.string("id") && retry.string("body") == "hello")
            #expect(try await api.send(bob.token, chatID, "hi", clientID: "c-1").status == .created)
            let history = try await api.call(.get, "/v1/chats/\(chatID)/messages", token: bob.token)
            #expect(history.array("messages").compactMap { $0["seq"] as? Int } == [1, 2])
        }
    }

    @Test func sendFailures() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let outsider = try await api.register("outsider")
            let chatID = try await api.createGroup(alice.token, members: [])
            #expect(try await api.send(outsider.token, chatID, "let me in").status == .notFound)
            #expect(try await api.send(alice.token, "nochat", "hi").status == .notFound)
            #expect(try await api.send(alice.token, chatID, "").status == .unprocessableContent)
            #expect(try await api.send(alice.token, chatID, String(repeating: "a", count: 4001)).status == .unprocessableContent)
            #expect(try await api.send(alice.token, chatID, String(repeating: "🙂", count: 4000)).status == .created)
            #expect(try await api.send(alice.token, chatID, "x", clientID: String(repeating: "c", count: 65)).status == .unprocessableContent)
            let missing = try await api.call(.post, "/v1/chats/\(chatID)/messages", token: alice.token, json: ["body": "no id"])
            #expect(missing.status == .badRequest)
            #expect(try await api.call(.get, "/v1/chats/\(chatID)/messages", token: alice.token).array("messages").count == 1)
        }
    }

    @Test func historyPagingOverHTTP() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let chatID = try await api.createGroup(alice.token, members: [])
            for index in 1...7 { #expect(try await api.send(alice.token, chatID, "m\(index)").status == .created) }
            func seqs(_ query: String) async throws -> ([Int], Bool?) {
                let result = try await api.call(.get, "/v1/chats/\(chatID)/messages\(query)", token: alice.token)
                return (result.array("messages").compactMap { $0["seq"] as? Int }, result["has_more"] as? Bool)
            }
            #expect(try await seqs("") == ([1, 2, 3, 4, 5, 6, 7], false))
            #expect(try await seqs("?limit=3") == ([5, 6, 7], true))
            #expect(try await seqs("?before_seq=5&limit=3") == ([2, 3, 4], true))
            #expect(try await seqs("?after_seq=4&limit=2") == ([5, 6], true))
            #expect(try await seqs("?after_seq=5") == ([6, 7], false))
            for bad in ["?limit=0", "?limit=201", "?limit=x", "?before_seq=-1", "?after_seq=abc"] {
                let result = try await api.call(.get, "/v1/chats/\(chatID)/messages\(bad)", token: alice.token)
                #expect(result.status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func editDeleteAndTombstones() async throws {
        try await withApp { api in
            let owner = try await api.register("owner")
            let member = try await api.register("member")
            let chatID = try await api.createGroup(owner.token, members: [member.id])
            let mine = try #require(try await api.send(member.token, chatID, "typo").string("id"))
            let path = "/v1/chats/\(chatID)/messages/\(mine)"
            #expect(try await api.call(.patch, path, token: owner.token, json: ["body": "not yours"]).status == .forbidden)
            let edited = try await api.call(.patch, path, token: member.token, json: ["body": "fixed"])
            #expect(edited.status == .ok && edited.string("body") == "fixed" && edited.string("edited_at") != nil)
            #expect(try await api.call(.patch, path, token: member.token, json: ["body": ""]).status == .unprocessableContent)
            // A group admin may delete anyone's message.
            #expect(try await api.call(.delete, path, token: owner.token).status == .noContent)
            #expect(try await api.call(.delete, path, token: owner.token).status == .noContent)
            #expect(try await api.call(.patch, path, token: member.token, json: ["body": "back"]).status == .conflict)
            let history = try await api.call(.get, "/v1/chats/\(chatID)/messages", token: member.token)
            let tombstone = try #require(history.array("messages").first)
            #expect(tombstone["deleted"] as? Bool == true && tombstone["body"] == nil && tombstone["seq"] as? Int == 1)

            let ownerMessage = try #require(try await api.send(owner.token, chatID, "admin says").string("id"))
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/messages/\(ownerMessage)", token: member.token).status == .forbidden)
            #expect(try await api.call(.delete, "/v1/chats/\(chatID)/messages/missing", token: owner.token).status == .notFound)
        }
    }

    @Test func readMarkersDriveUnreadCounts() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chatID = try await api.createGroup(alice.token, members: [bob.id])
            for index in 1...3 { _ = try await api.send(alice.token, chatID, "m\(index)") }
            func unread(_ token: String) async throws -> Int? {
                try await api.call(.get, "/v1/chats/\(chatID)", token: token)["unread_count"] as? Int
            }
            #expect(try await unread(bob.token) == 3)
            #expect(try await unread(alice.token) == 0)
            #expect(try await api.call(.post, "/v1/chats/\(chatID)/read", token: bob.token, json: ["seq": 2]).status == .noContent)
            #expect(try await unread(bob.token) == 1)
            #expect(try await api.call(.post, "/v1/chats/\(chatID)/read", token: bob.token, json: ["seq": 1]).status == .noContent)
            #expect(try await unread(bob.token) == 1, "the marker only moves forward")
            #expect(try await api.call(.post, "/v1/chats/\(chatID)/read", token: bob.token, json: ["seq": 4]).status == .unprocessableContent)
            #expect(try await api.call(.post, "/v1/chats/\(chatID)/read", token: bob.token, json: ["seq": "2"]).status == .badRequest)
        }
    }

    @Test func fortyConcurrentSendsGetSeqsOneToForty() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chatID = try await api.createGroup(alice.token, members: [bob.id])
            let results = try await withThrowingTaskGroup(of: (Int, Int?).self) { group in
                for index in 0..<40 {
                    let token = index.isMultiple(of: 2) ? alice.token : bob.token
                    group.addTask {
                        let result = try await api.send(token, chatID, "message \(index)")
                        return (Int(result.status.code), result["seq"] as? Int)
                    }
                }
                return try await group.reduce(into: [(Int, Int?)]()) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.0 == 201 })
            #expect(results.compactMap(\.1).sorted() == Array(1...40))
            let history = try await api.call(.get, "/v1/chats/\(chatID)/messages?limit=200", token: bob.token)
            #expect(history.array("messages").compactMap { $0["seq"] as? Int } == Array(1...40))
        }
    }
}
