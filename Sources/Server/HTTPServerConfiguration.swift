/// Where and how the HTTP authorize endpoint listens.
package struct HTTPServerConfiguration: Sendable {
    /// The address to bind. The endpoint has no client authentication of its own, so this is
    /// loopback or a private interface that only the gateways reach.
    package var host: String
    package var port: Int
    /// Largest single header line (name and value) a request may carry; larger → 400, close.
    package var maxHeaderFieldBytes = 16 * 1024
    /// Largest total of all headers of a request; larger → 400, close.
    package var maxHeaderBytes = 32 * 1024
    package var maxConnections = 10_000
    /// A keep-alive connection with no request for this long is closed.
    package var idleTimeout: Duration = .seconds(300)

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
