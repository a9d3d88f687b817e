/// How a `RedisClient` reaches Redis and the limits it keeps.
package struct RedisConfiguration: Sendable {
    /// Where Redis listens.
    package enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)
        /// The primary that the sentinels name at the time of each connect; its `ROLE` is checked
        /// before the connection serves anything.
        case sentinel(RedisSentinelConfiguration)

        /// A form for logs, e.g. `127.0.0.1:6379`, `unix:/run/redis/redis-server.sock` or
        /// `sentinel:m@127.0.0.1:26379`.
        package var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): "unix:\(path)"
            case .sentinel(let sentinel): sentinel.description
            }
        }

        /// Whether the server is found through Sentinel.
        var isSentinel: Bool {
            if case .sentinel = self { true } else { false }
        }
    }

    /// Where Redis listens.
    package var endpoint: Endpoint
    /// The ACL user (`AUTH user pass`); nil sends `AUTH pass` when a password is set.
    package var username: String?
    /// The password; nil sends no `AUTH`. It is never logged nor put in an error.
    package var password: String?
    /// Sent as `CLIENT SETNAME` on every connect, so `CLIENT LIST` shows who is who.
    package var clientName: String?
    /// How long one TCP/Unix connect may take. Also bounds `waitUntilConnected()`.
    package var connectTimeout: Duration
    /// The deadline of each request, enforced on the oldest one in flight: past it the connection is
    /// closed and every request sent on it fails with `.outcomeUnknown`.
    package var commandTimeout: Duration
    /// Requests in flight per connection; one more fails fast with `.overloaded`.
    package var maxInFlight: Int
    /// Multiplexed connections; nil means one per event loop of the group.
    package var connectionCount: Int?
    /// The largest reply accepted; a bigger (or endless) one closes the connection with `.protocolError`.
    /// hiredis's reader itself accepts bulk lengths up to `LLONG_MAX`, so this is the only bound.
    package var maxReplyBytes: Int
    /// Runs on every new connection after `AUTH` and `CLIENT SETNAME` and before the connection serves
    /// any request, e.g. to load a Redis Function library. A throw fails this connect attempt (the
    /// client then reconnects with backoff).
    package var onConnect: (@Sendable (RedisConnectionSetup) async throws -> Void)?
    /// Replicas that must confirm a write sent as `replicated` (`WAIT <n>` right behind it on the
    /// same connection) before it counts as done; 0 sends no `WAIT`. Replication is asynchronous, so
    /// without it a write acknowledged by a primary that dies the next moment can be missing on the
    /// replica promoted in its place.
    package var replicaAcknowledgements: Int
    /// How long `WAIT` waits for those replicas; a write not confirmed in time fails with
    /// `.outcomeUnknown` (it ran on the primary, but may not survive a failover). Keep it below the
    /// command timeout, which bounds the whole exchange.
    package var replicaTimeout: Duration
    /// Whether a failed connect fails `waitUntilConnected` at once, with that failure, instead of
    /// letting it wait for a later attempt up to the connect timeout: for a one-shot tool, which
    /// should say "connection refused" as soon as it is. (A daemon rides out an outage instead.)
    package var failsReadinessOnConnectError: Bool

    /// A configuration with the defaults: no AUTH, no name, 1 s connect and command timeouts,
    /// 1000 requests in flight, one connection per event loop, 64 MiB replies.
    package init(endpoint: Endpoint) {
        self.endpoint = endpoint
        self.username = nil
        self.password = nil
        self.clientName = nil
        self.connectTimeout = .seconds(1)
        self.commandTimeout = .seconds(1)
        self.maxInFlight = 1000
        self.connectionCount = nil
        self.maxReplyBytes = 64 << 20
        self.onConnect = nil
        self.replicaAcknowledgements = 0
        self.replicaTimeout = .milliseconds(500)
        self.failsReadinessOnConnectError = false
    }
}
