import ChatterCore
import Testing

@Suite struct RoleTests {
    @Test func roleListsParse() throws {
        #expect(try Role.parseList("gateway") == [.gateway])
        #expect(try Role.parseList(" auth , Chat,messaging ") == [.auth, .chat, .messaging])
        #expect(try Role.parseList("") == Set(Role.allCases))
        #expect(throws: ConfigurationError.self) { try Role.parseList("auth,billing") }
    }

    @Test func environmentSelectsRolesTokenAndUpstreams() throws {
        let configuration = try ChatterConfiguration(environment: [
            "CHATTER_ROLES": "notification",
            "CHATTER_INTERNAL_TOKEN": "0123456789abcdef",
            "CHATTER_UPSTREAM_CHAT": "http://10.0.0.1:8080, http://10.0.0.2:8080",
            "CHATTER_UPSTREAM_MESSAGING": "http://10.0.0.3:8080",
        ])
        #expect(configuration.roles == [.notification])
        #expect(!configuration.runsAllRoles)
        #expect(configuration.internalToken == "0123456789abcdef")
        #expect(configuration.upstreams[.chat] == ["http://10.0.0.1:8080", "http://10.0.0.2:8080"])
        #expect(configuration.upstreams[.messaging] == ["http://10.0.0.3:8080"])
        #expect(try ChatterConfiguration(environment: [:]).runsAllRoles)
        #expect(throws: ConfigurationError.self) { try ChatterConfiguration(environment: ["CHATTER_INTERNAL_TOKEN": "short"]) }
    }
}
