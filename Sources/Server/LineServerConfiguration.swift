import Wire

/// Where and how the line protocol listens.
package struct LineServerConfiguration: Sendable {
    /// TCP listener on 127.0.0.1 by default; nil disables it.
    package var tcp: (host: String, port: Int)?
    /// Unix socket path; nil disables it.
    package var unixSocket: String?
    /// Permission bits of the socket file.
    package var unixSocketMode: UInt32 = 0o660
    /// TCP clients act as the open client, with no AUTH (dev mode).
    package var tcpOpen = false
    /// Unix socket clients act as the open client: the file permissions do the job.
    package var unixOpen = false
    package var wire = WireLimits()
    /// Requests a connection may have in flight before presignd stops reading from it.
    package var maxPipelined = 1024
    package var maxConnections = 10_000
    /// A connection with no request for this long is closed.
    package var idleTimeout: Duration = .seconds(300)
    /// Events a subscriber may leave unread before it is disconnected.
    package var subscriberMaxEvents = 10_000
    /// Event payload bytes a subscriber may leave unread before it is disconnected.
    package var subscriberMaxBytes = 8 << 20

    package init() {}
}
