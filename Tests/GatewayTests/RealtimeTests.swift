import ChatterCore
import Foundation
import HTTPTypes
import Testing

/// `/v1/ws` against a live server with real WebSocket clients.
@Suite struct RealtimeTests {
    @Test func bothAuthModesAndRefusals() async throws {
        try await withApp(live: true, configure: { $0.webSocketAuthTimeoutMs = 300 }) { api in
            let alice = try await api.register("alice")
            try await withSocket(port: api.port, token: alice.token) { socket in
                let ready = try await socket.next { $0.type == "ready" }
                #expect(ready.json["user_id"] as? String == alice.id)
                #expect((ready.json["session_id"] as? String)?.isEmpty == false)
            }
            try await withSocket(port: api.port) { socket in
                try await socket.send(["type": "auth", "token": alice.token])
                let readyByFrame = try await socket.next { $0.type == "ready" }
                #expect(readyByFrame.json["user_id"] as? String == alice.id)
                try await socket.send(["type": "ping"])
                _ = try await socket.next { $0.type == "pong" }
            }
            // A bad token in the first frame, or none in time, closes with 4001. These closes come
            // right after the upgrade, so a raw probe reads them (see `CloseCodeProbe`).
            let badFrame = try await CloseCodeProbe.closeCode(port: api.port, frames: [#"{"type":"auth","token":"\#(alice.token)x"}"#])
            #expect(badFrame == 4001)
            let silent = try await CloseCodeProbe.closeCode(port: api.port)
            #expect(silent == 4001)
            // So does a bad header token.
            let badHeader = try await CloseCodeProbe.closeCode(port: api.port, authorization: "Bearer not-a-token")
            #expect(badHeader == 4001)
        }
    }

    @Test func fanOutReachesEveryMemberConnectionAndNobodyElse() async throws {
        try await withApp(live: true) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let carol = try await api.register("carol")
            let group = try await api.createGroup(alice.token, members: [bob.id])
            let carolsChat = try await api.createGroup(alice.token, title: "Other", members: [carol.id])
            try await withSocket(port: api.port, token: bob.token) { bobSocket in
                try await withSocket(port: api.port, token: alice.token) { aliceOther in
                    try await withSocket(port: api.port, token: carol.token) { carolSocket in
                        for socket in [bobSocket, aliceOther, carolSocket] { _ = try await socket.next { $0.type == "ready" } }
                        let sent = try await api.send(alice.token, group, "for the group")
                        #expect(sent.status == .created)
                        let toBob = try await bobSocket.next { $0.kind == "message.created" }
                        #expect(toBob.message["body"] as? String == "for the group")
                        #expect(toBob.event["chat_id"] as? String == group)
                        _ = try await aliceOther.next { $0.kind == "message.created" }  // the sender's other device
                        // Carol gets the later message in her chat, and never the group's.
                        _ = try await api.send(alice.token, carolsChat, "for carol")
                        let toCarol = try await carolSocket.next { $0.kind == "message.created" }
                        #expect(toCarol.message["body"] as? String == "for carol")
                        #expect(!carolSocket.frames.contains { $0.text.contains("for the group") })
                    }
                }
            }
        }
    }

    @Test func twoHundredQuickSendsArriveOnceAndInOrder() async throws {
        try await withApp(live: true) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chat = try await api.createGroup(alice.token, members: [bob.id])
            try await withSocket(port: api.port, token: bob.token) { bobSocket in
                try await withSocket(port: api.port, token: alice.token) { aliceSocket in
                    _ = try await bobSocket.next { $0.type == "ready" }
                    _ = try await aliceSocket.next { $0.type == "ready" }
                    for index in 0..<200 {
                        try await aliceSocket.send(["type": "send", "chat_id": chat, "body": "m\(index)", "client_msg_id": "c\(index)"])
                    }
                    for index in 0..<200 {
                        let ack = try await aliceSocket.next { $0.type == "ack" }
                        #expect(ack.json["client_msg_id"] as? String == "c\(index)")
                    }
                    var seqs: [Int] = []
                    while seqs.count < 200 {
                        let created = try await bobSocket.next { $0.kind == "message.created" }
                        seqs.append(try #require(created.seq))
                    }
                    #expect(seqs == Array(1...200))
                    // And nothing more arrives: a ping round trip after the last one shows no duplicate.
                    try await bobSocket.send(["type": "ping"])
                    _ = try await bobSocket.next { $0.type == "pong" }
                    #expect(bobSocket.frames.filter { $0.kind == "message.created" }.count == 200)
                    // A retried send gets the same message back and creates nothing.
                    try await aliceSocket.send(["type": "send", "chat_id": chat, "body": "again", "client_msg_id": "c7"])
                    let retry = try await aliceSocket.next { $0.type == "ack" }
                    #expect(retry.seq == 8, "\(retry.text)")
                }
            }
        }
    }

    @Test func sendErrorsComeBackAsErrorFrames() async throws {
        try await withApp(live: true) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let bobsChat = try await api.createGroup(bob.token, members: [])
            try await withSocket(port: api.port, token: alice.token) { socket in
                try await socket.send(["type": "send", "chat_id": bobsChat, "body": "intrude", "client_msg_id": "x1"])
                let error = try await socket.next { $0.type == "error" }
                #expect(error.json["client_msg_id"] as? String == "x1")
                #expect((error.json["error"] as? [String: Any])?["code"] as? String == "not_found")
                try await socket.sendText("not json")
                let invalid = try await socket.next { $0.type == "error" }
                #expect((invalid.json["error"] as? [String: Any])?["code"] as? String == "invalid_frame")
                try await socket.send(["type": "ping"])
                _ = try await socket.next { $0.type == "pong" }
            }
        }
    }

    @Test func reconnectAndSyncGetsExactlyTheMissedMessages() async throws {
        try await withApp(live: true) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chat = try await api.createGroup(alice.token, members: [bob.id])
            for index in 1...5 { _ = try await api.send(alice.token, chat, "before \(index)") }
            // Offline: five more.
            for index in 6...10 { _ = try await api.send(alice.token, chat, "offline \(index)") }
            try await withSocket(port: api.port, token: bob.token) { socket in
                _ = try await socket.next { $0.type == "ready" }
                try await socket.send(["type": "sync", "since": [chat: 5]])
                let synced = try await socket.next { $0.type == "synced" }
                #expect((synced.json["chats"] as? [String: Any])?[chat] as? Int == 10)
                let replayed = socket.frames.filter { $0.kind == "message.created" }.compactMap(\.seq)
                #expect(replayed == [6, 7, 8, 9, 10])
                _ = try await api.send(alice.token, chat, "live 11")
                let live = try await socket.next { $0.kind == "message.created" && $0.seq == 11 }
                #expect(live.message["body"] as? String == "live 11")
                try await socket.send(["type": "ping"])
                _ = try await socket.next { $0.type == "pong" }
                #expect(socket.frames.filter { $0.kind == "message.created" }.compactMap(\.seq) == [6, 7, 8, 9, 10, 11])
            }
        }
    }

    @Test func syncDuringLiveTrafficHasNoGapAndNoDuplicate() async throws {
        try await withApp(live: true) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chat = try await api.createGroup(alice.token, members: [bob.id])
            for index in 1...30 { _ = try await api.send(alice.token, chat, "early \(index)") }
            try await withSocket(port: api.port, token: bob.token) { socket in
                _ = try await socket.next { $0.type == "ready" }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for index in 31...80 { _ = try await api.send(alice.token, chat, "during \(index)") }
                    }
                    try await Task.sleep(for: .milliseconds(20))
                    try await socket.send(["type": "sync", "since": [chat: 0]])
                    try await group.waitForAll()
                }
                _ = try await socket.next { $0.type == "synced" }
                _ = try await socket.next(timeout: .seconds(20)) { $0.kind == "message.created" && $0.seq == 80 }
                try await socket.send(["type": "ping"])
                _ = try await socket.next { $0.type == "pong" }
                let seqs = socket.frames.filter { $0.kind == "message.created" }.compactMap(\.seq)
                // Every message exactly once. Live ones that beat the sync request come first;
                // from the replay on, the order is ascending.
                #expect(seqs.count == 80)
                #expect(Set(seqs) == Set(1...80))
                let fromReplay = seqs.drop(while: { $0 != 1 })
                #expect(fromReplay.elementsEqual(fromReplay.sorted()))
            }
        }
    }

    @Test func typingAndPresence() async throws {
        try await withApp(live: true, configure: { $0.presenceGraceMs = 200 }) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chat = try await api.createGroup(alice.token, members: [bob.id])
            try await withSocket(port: api.port, token: alice.token) { aliceSocket in
                _ = try await aliceSocket.next { $0.type == "ready" }
                try await withSocket(port: api.port, token: bob.token) { bobSocket in
                    _ = try await bobSocket.next { $0.type == "ready" }
                    let online = try await aliceSocket.next { $0.kind == "presence" }
                    #expect(online.event["user_id"] as? String == bob.id && online.event["status"] as? String == "online")
                    // Bob learns Alice was already online.
                    let aliceOnline = try await bobSocket.next { $0.kind == "presence" }
                    #expect(aliceOnline.event["user_id"] as? String == alice.id)

                    try await bobSocket.send(["type": "typing", "chat_id": chat])
                    try await bobSocket.send(["type": "typing", "chat_id": chat])  // throttled
                    let typing = try await aliceSocket.next { $0.kind == "typing" }
                    #expect(typing.event["user_id"] as? String == bob.id && typing.event["chat_id"] as? String == chat)
                    try await aliceSocket.send(["type": "ping"])

                    _ = try await aliceSocket.next { $0.type == "pong" }
                    #expect(aliceSocket.frames.filter { $0.kind == "typing" }.count == 1)
                    #expect(!bobSocket.frames.contains { $0.kind == "typing" })
                }
                let offline = try await aliceSocket.next { $0.kind == "presence" && $0.event["status"] as? String == "offline" }
                #expect(offline.event["user_id"] as? String == bob.id)
            }
        }
    }

    @Test func aSlowClientIsCutOffWhileOthersKeepReceiving() async throws {
        try await withApp(live: true, configure: {
            // Room for a fast reader that the rest of a parallel test run starves of CPU now and
            // then; a reader that never reads still fills it once the kernel's buffers are full.
            $0.webSocketSendQueue = 128
            $0.presenceGraceMs = 50
        }) { api in
            let alice = try await api.register("alice")
            let bob = try await api.register("bob")
            let chat = try await api.createGroup(alice.token, members: [bob.id])
            let body = String(repeating: "x", count: 4000)
            try await withSocket(port: api.port, token: alice.token) { fast in
                _ = try await fast.next { $0.type == "ready" }
                let sent = try await withSocket(port: api.port, token: bob.token, readInbound: false) { slow in
                    _ = try await fast.next { $0.kind == "presence" && $0.event["status"] as? String == "online" }
                    // Bob never reads. The server must give up on his socket (bob goes offline for
                    // alice) long before 6000 messages of 4 KB (the kernel buffers a few MB first), without slowing alice down.
                    func bobIsGone() -> Bool {
                        fast.frames.contains { $0.kind == "presence" && $0.event["status"] as? String == "offline" }
                    }
                    var sent = 0
                    while !bobIsGone() && sent < 6000 {
                        try await fast.send(["type": "send", "chat_id": chat, "body": body, "client_msg_id": "s\(sent)"])
                        sent += 1
                        // Alice waits for her acks every 5 sends, so only a few of her frames
                        // (acks and events) are ever queued: far below the budget.
                        if sent.isMultiple(of: 5) {
                            let last = "s\(sent - 1)"
                            _ = try await fast.next(timeout: .seconds(30)) { $0.type == "ack" && $0.json["client_msg_id"] as? String == last }
                        }
                    }
                    if !bobIsGone() {
                        _ = try await fast.next(timeout: .seconds(10)) { $0.kind == "presence" && $0.event["status"] as? String == "offline" }
                    }
                    return sent
                }
                #expect(sent < 6000, "the slow client was never cut off")
                // Meanwhile the fast client received every message, once and in order.
                _ = try await fast.next(timeout: .seconds(30)) { $0.kind == "message.created" && $0.seq == sent }
                #expect(fast.frames.filter { $0.kind == "message.created" }.compactMap(\.seq) == Array(1...sent))
            }
        }
    }

    @Test func logoutClosesThatSessionsSockets() async throws {
        try await withApp(live: true) { api in
            let bob = try await api.register("bob")
            let code = try await withSocket(port: api.port, token: bob.token) { socket in
                _ = try await socket.next { $0.type == "ready" }
                #expect(try await api.call(.post, "/v1/auth/logout", token: bob.token).status == .noContent)
                return try await socket.waitForClose(timeout: .seconds(3))
            }
            #expect(code == 4003)
        }
    }

    @Test func asyncAPIDocumentIsServed() async throws {
        try await withApp { api in
            let document = try await api.call(.get, "/asyncapi.yaml")
            #expect(document.status == .ok)
            #expect(document.text.hasPrefix("asyncapi: 3.0.0") || document.text.contains("\nasyncapi: 3.0.0"))
            #expect(document.text.contains("/v1/ws"))
        }
    }
}
