import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The few REST calls a load run needs to set itself up: accounts and group chats.
struct HTTPSetup: Sendable {
    let baseURL: String

    struct Account: Sendable {
        var userID: String
        var token: String
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    func register(username: String) async throws -> Account {
        let json = try await post("/v1/auth/register", ["username": username, "password": "load-test-password"], token: nil, expect: 201)
        guard let token = json["access_token"] as? String, let user = json["user"] as? [String: Any], let id = user["id"] as? String else {
            throw SetupError(description: "register \(username): unexpected response")
        }
        return Account(userID: id, token: token)
    }

    func createGroup(owner: Account, title: String, members: [String]) async throws -> String {
        let json = try await post("/v1/chats", ["type": "group", "title": title, "member_ids": members], token: owner.token, expect: 201)
        guard let id = json["id"] as? String else { throw SetupError(description: "create chat: no id") }
        return id
    }

    func history(chatID: String, afterSeq: Int64, token: String) async throws -> (seqs: [Int64], hasMore: Bool) {
        var request = URLRequest(url: try url("/v1/chats/\(chatID)/messages?after_seq=\(afterSeq)&limit=200"))
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200,
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let messages = json["messages"] as? [[String: Any]]
        else { throw SetupError(description: "history of \(chatID) failed") }
        return (messages.compactMap { ($0["seq"] as? NSNumber)?.int64Value }, json["has_more"] as? Bool ?? false)
    }

    /// Every seq in the chat's history, paging forward.
    func allSeqs(chatID: String, token: String) async throws -> Set<Int64> {
        var seqs = Set<Int64>()
        var after: Int64 = 0
        while true {
            let page = try await history(chatID: chatID, afterSeq: after, token: token)
            seqs.formUnion(page.seqs)
            guard page.hasMore, let last = page.seqs.max(), last > after else { return seqs }
            after = last
        }
    }

    private func post(_ path: String, _ body: [String: Any], token: String?, expect status: Int) async throws -> [String: Any] {
        var request = URLRequest(url: try url(path))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let code = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard code == status else {
            throw SetupError(description: "POST \(path) answered \(code): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    private func url(_ path: String) throws -> URL {
        guard let url = URL(string: baseURL + path) else { throw SetupError(description: "bad URL \(baseURL + path)") }
        return url
    }
}
