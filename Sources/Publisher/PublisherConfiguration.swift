/// Settings of the publisher service (`sse-publisher`); each has one flag and one environment variable.
public struct PublisherConfiguration: Sendable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    /// Port to listen on.
    public var port = 8090
    /// Where the model and the topics live.
    public var redisURL = "redis://127.0.0.1:6379"
    /// Bearer token `POST /publish` requires; nil disables the publish API.
    public var publishToken: String?

    public init() {}
}
