import HTTPTypes
import Testing

@Suite struct AuthEndpointTests {
    @Test func registerLoginAndMe() async throws {
        try await withApp { api in
            let registered = try await api.call(.post, "/v1/auth/register", json: ["username": "Alice", "password": "correct horse", "display_name": "Alice A"])
            #expect(registered.status == .created)
            #expect(registered.string("token_type") == "Bearer")
            #expect(registered["expires_in"] as? Int == 900)
            let user = registered.object("user")
            #expect(user["username"] as? String == "alice")
            #expect(user["display_name"] as? String == "Alice A")
            #expect((user["created_at"] as? String)?.hasSuffix("Z") == true)
            #expect(registered.headers[.contentType] == "application/json; charset=utf-8")

            let login = try await api.call(.post, "/v1/auth/login", json: ["username": "ALICE", "password": "correct horse"])
            #expect(login.status == .ok)
            let me = try await api.call(.get, "/v1/users/me", token: login.string("access_token"))
            #expect(me.status == .ok)
            #expect(me.string("id") == user["id"] as? String)
            #expect(Set(me.json.keys) == ["id", "username", "display_name", "created_at"])
        }
    }

    @Test func registrationFailures() async throws {
        try await withApp { api in
            _ = try await api.register("bob")
            let taken = try await api.call(.post, "/v1/auth/register", json: ["username": "BOB", "password": "correct horse"])
            #expect(taken.status == .conflict && taken.errorCode == "username_taken")
            let badName = try await api.call(.post, "/v1/auth/register", json: ["username": "b o b", "password": "correct horse"])
            #expect(badName.status == .unprocessableContent && badName.errorCode == "validation_failed")
            let shortPassword = try await api.call(.post, "/v1/auth/register", json: ["username": "carol", "password": "short"])
            #expect(shortPassword.status == .unprocessableContent)
            let missing = try await api.call(.post, "/v1/auth/register", json: ["username": "carol"])
            #expect(missing.status == .badRequest && missing.errorCode == "invalid_request")
            let wrongType = try await api.call(.post, "/v1/auth/register", json: ["username": 5, "password": "correct horse"])
            #expect(wrongType.status == .badRequest)
            let malformed = try await api.call(.post, "/v1/auth/register", rawBody: "{\"username\":", headers: [.contentType: "application/json"])
            #expect(malformed.status == .badRequest && malformed.errorCode == "malformed_json")
            let array = try await api.call(.post, "/v1/auth/register", rawBody: "[]", headers: [.contentType: "application/json"])
            #expect(array.status == .badRequest)
            let form = try await api.call(.post, "/v1/auth/register", rawBody: "username=x", headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == .unsupportedMediaType && form.errorCode == "unsupported_media_type")
            let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            let nested = try await api.call(.post, "/v1/auth/register", rawBody: deep, headers: [.contentType: "application/json"])
            #expect(nested.status == .badRequest)
            let huge = try await api.call(.post, "/v1/auth/register", json: ["username": "dave", "password": String(repeating: "x", count: 70_000)])
            #expect(huge.status == .contentTooLarge && huge.errorCode == "payload_too_large")
            // None of the failures created an account.
            let login = try await api.call(.post, "/v1/auth/login", json: ["username": "carol", "password": "correct horse"])
            #expect(login.status == .unauthorized)
        }
    }

    @Test func loginFailuresLookAlike() async throws {
        try await withApp { api in
            _ = try await api.register("erin")
            let wrong = try await api.call(.post, "/v1/auth/login", json: ["username": "erin", "password": "wrong horse"])
            let unknown = try await api.call(.post, "/v1/auth/login", json: ["username": "nobody", "password": "wrong horse"])
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(wrong.errorCode == "invalid_credentials" && unknown.errorCode == wrong.errorCode)
            #expect(wrong.object("error")["message"] as? String == unknown.object("error")["message"] as? String)
        }
    }

    @Test func refreshRotationAndReuse() async throws {
        try await withApp { api in
            let user = try await api.register("frank")
            let first = try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": user.refresh])
            #expect(first.status == .ok)
            let newRefresh = try #require(first.string("refresh_token"))
            #expect(newRefresh != user.refresh)
            let reuse = try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": user.refresh])
            #expect(reuse.status == .unauthorized && reuse.errorCode == "refresh_token_reused")
            let afterReuse = try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": newRefresh])
            #expect(afterReuse.status == .unauthorized)
            let me = try await api.call(.get, "/v1/users/me", token: first.string("access_token"))
            #expect(me.status == .unauthorized)
            let garbage = try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": "nope"])
            #expect(garbage.status == .unauthorized && garbage.errorCode == "invalid_refresh_token")
        }
    }

    @Test func logoutWithAndWithoutBody() async throws {
        try await withApp { api in
            let first = try await api.register("gina")
            let out = try await api.call(.post, "/v1/auth/logout", token: first.token)
            #expect(out.status == .noContent)
            #expect(try await api.call(.get, "/v1/users/me", token: first.token).status == .unauthorized)
            #expect(try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": first.refresh]).status == .unauthorized)

            let second = try await api.call(.post, "/v1/auth/login", json: ["username": "gina", "password": "correct horse"])
            let third = try await api.call(.post, "/v1/auth/login", json: ["username": "gina", "password": "correct horse"])
            let withBody = try await api.call(
                .post, "/v1/auth/logout", token: second.string("access_token"), json: ["refresh_token": third.string("refresh_token")!])
            #expect(withBody.status == .noContent)
            #expect(try await api.call(.post, "/v1/auth/refresh", json: ["refresh_token": third.string("refresh_token")!]).status == .unauthorized)
            #expect(try await api.call(.post, "/v1/auth/logout").status == .unauthorized)
        }
    }

    @Test func userSearchAndJWKS() async throws {
        try await withApp { api in
            let alice = try await api.register("alice")
            _ = try await api.register("albert")
            _ = try await api.register("bob")
            let search = try await api.call(.get, "/v1/users?prefix=AL&limit=20", token: alice.token)
            #expect(search.status == .ok)
            #expect(search.array("users").compactMap { $0["username"] as? String } == ["albert", "alice"])
            #expect(try await api.call(.get, "/v1/users?prefix=al&limit=1", token: alice.token).array("users").count == 1)
            #expect(try await api.call(.get, "/v1/users?limit=1000", token: alice.token).status == .badRequest)
            #expect(try await api.call(.get, "/v1/users?prefix=al").status == .unauthorized)
            let jwks = try await api.call(.get, "/.well-known/jwks.json")
            #expect(jwks.status == .ok)
            let key = try #require(jwks.array("keys").first)
            #expect(key["kty"] as? String == "OKP" && key["alg"] as? String == "EdDSA" && key["kid"] != nil && key["d"] == nil)
        }
    }

    @Test func badTokensAre401() async throws {
        try await withApp { api in
            let user = try await api.register("hank")
            for header in ["Bearer", "Bearer ", "Basic abc", "Bearer \(user.token)x", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
                let result = try await api.call(.get, "/v1/users/me", headers: [.authorization: header])
                #expect(result.status == .unauthorized, "\(header)")
                #expect(result.errorCode == "unauthorized")
            }
        }
    }
}
