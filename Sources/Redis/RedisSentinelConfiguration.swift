/// Where to ask for the current primary when Redis runs under Sentinel: the sentinels, the name they
/// monitor it under, and how to log in to them (sentinels can have ACL users of their own).
///
/// A client with this endpoint asks the sentinels on every (re)connect and never caches the answer,
/// so a failover is followed by reconnecting (redis.md §3.9).
package struct RedisSentinelConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The sentinels, asked in this order; the first one that names a primary wins.
    package var sentinels: [RedisConfiguration.Endpoint]
    /// The name in `sentinel monitor <name> …`.
    package var masterName: String
    /// The sentinels' ACL user; nil sends `AUTH pass` when a password is set.
    package var username: String?
    /// The sentinels' password; nil sends no `AUTH`. Never logged nor put in an error.
    package var password: String?
    /// How long asking one sentinel may take (connect, `AUTH` and the question together), so a dead
    /// sentinel costs little before the next one is asked.
    package var queryTimeout: Duration

    /// Sentinels without `AUTH`, 500 ms per sentinel.
    package init(sentinels: [RedisConfiguration.Endpoint], masterName: String) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.username = nil
        self.password = nil
        self.queryTimeout = .milliseconds(500)
    }

    /// A form for logs without credentials, e.g. `sentinel:m@127.0.0.1:26379,127.0.0.1:26380`.
    package var description: String {
        "sentinel:\(masterName)@" + sentinels.map(\.description).joined(separator: ",")
    }
}
