import Configuration
import Gateway
import Logging
import Publisher
import ServerSupport
import Synchronization
import Testing

/// Flags, then environment variables, then defaults; values that do not parse stop with one line; secrets are
/// marked so swift-configuration redacts them.
@Suite struct SettingsReaderTests {
    func gateway(
        _ environment: [String: String], flags: (inout SettingsReader) -> Void = { _ in }
    ) throws(SettingError) -> GatewayConfiguration {
        var settings = SettingsReader()
        flags(&settings)
        return try GatewayConfiguration(reader: settings.reader(environment: environment))
    }

    /// The message of the ``SettingError`` `body` throws, nil when it throws nothing.
    func error(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as SettingError {
            return error.message
        } catch {
            return "not a SettingError: \(error)"
        }
    }

    @Test func withNothingGivenEveryFieldHasItsDefault() throws {
        let read = try gateway([:])
        let defaults = GatewayConfiguration(nodeID: read.nodeID)
        #expect(read.port == 8080)
        #expect(read.redisURL == "redis://127.0.0.1:6379")
        #expect(read.heartbeatInterval == .seconds(15))
        #expect(read.allowedOrigins == ["*"])
        #expect(read.maxLoopBacklogBytes == defaults.maxLoopBacklogBytes)
        #expect(read.drainWindow == defaults.drainWindow)
        #expect(read.logLevel == .info)
        let publisher = try PublisherConfiguration(reader: SettingsReader().reader(environment: [:]))
        #expect(publisher.port == 8090)
        #expect(publisher.redisURL == read.redisURL)
        #expect(publisher.publishToken == nil)
        #expect(publisher.description == PublisherConfiguration().description)
    }

    @Test func aFlagWinsOverItsVariableWhichWinsOverTheDefault() throws {
        let environment = ["SSE_PORT": "9000", "SSE_HEARTBEAT_SECONDS": "2.5", "SSE_MAX_TOPICS": "4"]
        let fromEnvironment = try gateway(environment)
        #expect(fromEnvironment.port == 9000)
        #expect(fromEnvironment.heartbeatInterval == .milliseconds(2500))
        #expect(fromEnvironment.maxTopicsPerConnection == 4)
        let fromFlags = try gateway(environment) {
            $0.flag(GatewaySettings.port, 9100)
            $0.flag(SharedSettings.heartbeatSeconds, 0.25)
        }
        #expect(fromFlags.port == 9100)
        #expect(fromFlags.heartbeatInterval == .milliseconds(250))
        #expect(fromFlags.maxTopicsPerConnection == 4)
    }

    @Test func anEmptyVariableCountsAsUnset() throws {
        let read = try gateway(["SSE_PORT": "", "SSE_REDIS_URL": "", "SSE_ALLOWED_ORIGINS": ""])
        #expect(read.port == 8080)
        #expect(read.redisURL == "redis://127.0.0.1:6379")
        #expect(read.allowedOrigins == ["*"])
    }

    @Test func listsAreCommaSeparatedAndFlagsMayRepeat() throws {
        let fromEnvironment = try gateway(["SSE_ALLOWED_ORIGINS": " https://a.example , https://b.example,"])
        #expect(fromEnvironment.allowedOrigins == ["https://a.example", "https://b.example"])
        let fromFlags = try gateway(["SSE_ALLOWED_ORIGINS": "https://env.example"]) {
            $0.flag(GatewaySettings.allowedOrigins, ["https://a.example,https://b.example", "https://c.example"])
        }
        #expect(fromFlags.allowedOrigins == ["https://a.example", "https://b.example", "https://c.example"])
        #expect(try gateway(["SSE_ALLOWED_HEADERS": " , "]).allowedHeaders == [])
    }

    @Test func aValueThatDoesNotParseIsOneLineNamingTheVariable() {
        #expect(error { _ = try gateway(["SSE_PORT": "abc"]) } == #"SSE_PORT="abc" is invalid: expected a port number"#)
        #expect(
            error { _ = try gateway(["SSE_DRAIN_SECONDS": "soon"]) }
                == #"SSE_DRAIN_SECONDS="soon" is invalid: expected seconds"#)
        #expect(
            error { _ = try gateway(["SSE_LOG_LEVEL": "loud"]) }
                == #"log level "loud" is invalid: use trace, debug, info, notice, warning, error or critical"#)
        #expect(
            error { _ = try gateway(["SSE_ALLOWED_HEADERS": "X-Ok,Bad Header"]) }
                == #"SSE_ALLOWED_HEADERS entry "Bad Header" is invalid: expected a header name"#)
        #expect(
            error { _ = try gateway(["SSE_MAX_LOOP_BACKLOG": "0"]) }
                == "max loop backlog 0 is invalid: expected bytes > 0")
        #expect(
            error {
                _ = try PublisherConfiguration(reader: SettingsReader().reader(environment: ["SSE_BOARD_LENGTH": "0"]))
            }
                == "board length 0 is invalid: expected 1–1000 posts")
        #expect(
            error {
                _ = try PublisherConfiguration(
                    reader: SettingsReader().reader(environment: ["SSE_IDEMPOTENCY_WINDOW_SECONDS": "1d"]))
            } == #"SSE_IDEMPOTENCY_WINDOW_SECONDS="1d" is invalid: expected seconds"#)
    }

    /// The token is read with `isSecret` and the environment provider knows its variable is secret, so every
    /// access event (what `CONFIG_ACCESS_LOG_FILE` writes) shows it redacted.
    @Test func thePublishTokenIsReadAsASecretAndRedactedInAccessEvents() throws {
        for useFlag in [false, true] {
            let events = Events()
            var settings = SettingsReader()
            settings.flag(PublisherSettings.publishToken, useFlag ? "flag-hunter2" : nil)
            let environment = ["SSE_PUBLISH_TOKEN": "env-hunter2"]
            let configuration = try PublisherConfiguration(
                reader: settings.reader(environment: environment, accessReporter: events))
            #expect(configuration.publishToken == (useFlag ? "flag-hunter2" : "env-hunter2"))
            #expect(!configuration.description.contains("hunter2"))
            let token = events.all.filter { $0.metadata.key.components.last == "publishToken" }
            #expect(token.count == 1)
            for event in token {
                let value = try #require(try event.result.get())
                #expect(value.isSecret)
                for provided in event.providerResults {
                    if let found = try provided.result.get().value {
                        #expect(found.isSecret, "\(provided.providerName)")
                    }
                }
            }
            let logged = events.all.map { "\($0)" }.joined(separator: "\n")
            #expect(logged.contains("publishToken"))
            #expect(!logged.contains("hunter2"), "\(logged)")
        }
    }
}

/// Collects access events.
final class Events: AccessReporter {
    private let events = Mutex<[AccessEvent]>([])
    var all: [AccessEvent] { events.withLock { $0 } }
    func report(_ event: AccessEvent) { events.withLock { $0.append(event) } }
}
