import ChatterCore
import Testing

@Suite struct ValidationTests {
    @Test(arguments: ["abc", "Alice", "a.b-c_9", String(repeating: "z", count: 32)])
    func acceptsUsernames(_ name: String) throws {
        #expect(try Validation.username(name) == name.lowercased())
    }

    @Test(arguments: ["ab", String(repeating: "z", count: 33), "has space", "emoji😀", "semi;colon", "ünï", ""])
    func rejectsUsernames(_ name: String) {
        #expect(throws: ChatterError.self) { try Validation.username(name) }
    }

    @Test func passwordLengthIsCountedInScalars() throws {
        #expect(throws: ChatterError.self) { try Validation.password("1234567") }
        #expect(try Validation.password("12345678") == "12345678")
        #expect(try Validation.password(String(repeating: "é", count: 128)).unicodeScalars.count == 128)
        #expect(throws: ChatterError.self) { try Validation.password(String(repeating: "x", count: 129)) }
    }

    @Test func messageBodyIsOneTo4000Scalars() throws {
        #expect(throws: ChatterError.self) { try Validation.messageBody("") }
        #expect(try Validation.messageBody(String(repeating: "🙂", count: 4000)).unicodeScalars.count == 4000)
        #expect(throws: ChatterError.self) { try Validation.messageBody(String(repeating: "a", count: 4001)) }
        #expect(throws: ChatterError.self) { try Validation.messageBody("nul \u{0000} inside") }
        #expect(try Validation.messageBody("line\nbreak\ttab") == "line\nbreak\ttab")
    }

    @Test func validationErrorsAre422AndNameTheField() {
        do {
            _ = try Validation.username("x")
            Issue.record("expected a validation error")
        } catch let error as ChatterError {
            #expect(error.code == .validationFailed)
            #expect(error.code.status == 422)
            #expect(error.message.contains("username"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func clientMessageIDsAndTitles() throws {
        #expect(try Validation.clientMsgID("9f1c-uuid") == "9f1c-uuid")
        #expect(throws: ChatterError.self) { try Validation.clientMsgID("") }
        #expect(throws: ChatterError.self) { try Validation.clientMsgID(String(repeating: "x", count: 65)) }
        #expect(try Validation.title("  Team  ") == "Team")
        #expect(throws: ChatterError.self) { try Validation.title("   ") }
        #expect(throws: ChatterError.self) { try Validation.title(nil) }
    }

    @Test func limitsAndSequenceNumbersAreStrict() throws {
        #expect(try Validation.limit(nil, default: 50, range: 1...200) == 50)
        #expect(try Validation.limit("200", default: 50, range: 1...200) == 200)
        #expect(throws: ChatterError.self) { try Validation.limit("201", default: 50, range: 1...200) }
        #expect(throws: ChatterError.self) { try Validation.limit("0", default: 50, range: 1...200) }
        #expect(throws: ChatterError.self) { try Validation.limit("ten", default: 50, range: 1...200) }
        #expect(try Validation.sequenceNumber("7", field: "after_seq") == 7)
        #expect(throws: ChatterError.self) { try Validation.sequenceNumber("-1", field: "after_seq") }
    }

    @Test func configurationReadsEnvironmentAndRejectsNonsense() throws {
        let configuration = try ChatterConfiguration(environment: [
            "CHATTER_HOST": "0.0.0.0", "CHATTER_PORT": "9000", "CHATTER_DATA_DIR": "/var/lib/chatter",
        ])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000)
        #expect(configuration.dataDirectory == "/var/lib/chatter")
        #expect(configuration.accessTokenTTL == 900)
        #expect(configuration.bcryptCost >= 10)
        #expect(throws: ConfigurationError.self) { try ChatterConfiguration(environment: ["CHATTER_PORT": "70000"]) }
        #expect(throws: ConfigurationError.self) { try ChatterConfiguration(environment: ["CHATTER_PORT": "http"]) }
    }

    @Test func shutdownTimeoutAndLogFormatComeFromTheEnvironment() throws {
        let defaults = try ChatterConfiguration(environment: [:])
        #expect(defaults.shutdownTimeoutSeconds == 30 && defaults.logFormat == "auto")
        let set = try ChatterConfiguration(environment: ["CHATTER_SHUTDOWN_TIMEOUT_SECONDS": "5", "CHATTER_LOG_FORMAT": "json"])
        #expect(set.shutdownTimeoutSeconds == 5 && set.logFormat == "json")
        #expect(throws: ConfigurationError.self) { try ChatterConfiguration(environment: ["CHATTER_SHUTDOWN_TIMEOUT_SECONDS": "0"]) }
    }

    @Test func eventLoopThreadsComeFromTheEnvironment() throws {
        #expect(try ChatterConfiguration(environment: [:]).eventLoopThreads == nil)
        #expect(try ChatterConfiguration(environment: ["CHATTER_EVENT_LOOP_THREADS": "3"]).eventLoopThreads == 3)
        #expect(throws: ConfigurationError.self) { try ChatterConfiguration(environment: ["CHATTER_EVENT_LOOP_THREADS": "0"]) }
    }
}
