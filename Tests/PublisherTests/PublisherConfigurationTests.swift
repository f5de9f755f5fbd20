import Testing

@testable import Publisher

@Suite struct PublisherConfigurationTests {
    @Test func defaultsMatchTheREADME() throws {
        let configuration = PublisherConfiguration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8090)
        #expect(configuration.redisURL == "redis://127.0.0.1:6379")
        #expect(configuration.publishToken == nil)
        #expect(configuration.publicSSEURL == "")
        #expect(configuration.heartbeatSeconds == 15)
        #expect(configuration.historyLength == 1000)
        #expect(configuration.boardLength == 50)
        #expect(configuration.redisTimeoutSeconds == 2)
        try configuration.validate()
    }

    @Test func theSSEURLLosesTrailingSlashesAndAnEmptyTokenDisablesTheAPI() {
        var configuration = PublisherConfiguration()
        configuration.publicSSEURL = "http://127.0.0.1:8080//"
        configuration.publishToken = ""
        #expect(configuration.sseBaseURL == "http://127.0.0.1:8080")
        #expect(configuration.enabledPublishToken == nil)
        configuration.publishToken = "t"
        #expect(configuration.enabledPublishToken == "t")
        #expect(configuration.description.contains("publishToken=set"))
        #expect(!configuration.description.contains("=t "))
    }

    @Test func invalidValuesAreRefusedWithWhatWasExpected() {
        func message(_ change: (inout PublisherConfiguration) -> Void) -> String? {
            var configuration = PublisherConfiguration()
            change(&configuration)
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.description
            }
        }
        #expect(message { $0.port = 70000 } == "port 70000 is invalid: expected 0–65535")
        #expect(message { $0.boardLength = 1001 } == "board length 1001 is invalid: expected 1–1000 posts")
        #expect(message { $0.historyLength = 0 } == "history length 0 is invalid: expected at least 1")
        #expect(
            message { $0.redisTimeoutSeconds = 0 }
                == "Redis timeout 0.0 is invalid: expected a positive number of seconds")
        #expect(
            message { $0.publicSSEURL = "http://x/\"onload" }
                == #"public SSE URL "http://x/\"onload" is invalid: it contains a space, quote or angle bracket"#)
        #expect(message { $0.publicSSEURL = "/gateway" } == nil)
    }
}
