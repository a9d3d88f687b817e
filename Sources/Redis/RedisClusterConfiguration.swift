/// How a `RedisClusterClient` finds the cluster and connects to its primaries.
package struct RedisClusterConfiguration: Sendable {
    /// Nodes asked for the slot map until one answers; any node of the cluster will do.
    package var seeds: [RedisConfiguration.Endpoint]
    /// The settings of every node connection (AUTH, name, timeouts, `onConnect`, connections per
    /// node); its `endpoint` is replaced by each node's address.
    package var node: RedisConfiguration
    /// How often the slot map is read again when nothing else asked for it (a `MOVED`, a failed
    /// connection): this is how a primary added to the cluster without traffic is found.
    package var refreshInterval: Duration
    /// Replicas that must confirm a write sent with `replicated: true` (`WAIT <n>` right behind it on
    /// the same connection) before it counts as done; 0 sends no `WAIT`. Replication is asynchronous,
    /// so without it a write acknowledged by a primary that dies the next moment can be missing on
    /// the replica promoted in its place.
    package var replicaAcknowledgements: Int
    /// How long `WAIT` waits for those replicas; a write not confirmed in time fails with
    /// `.outcomeUnknown` (it ran on the primary, but may not survive a failover). Keep it below the
    /// node's command timeout, which bounds the whole exchange.
    package var replicaTimeout: Duration

    /// A configuration over `seeds` with `node`'s settings, a 5 s periodic refresh and no `WAIT`.
    package init(seeds: [RedisConfiguration.Endpoint], node: RedisConfiguration) {
        self.seeds = seeds
        self.node = node
        self.refreshInterval = .seconds(5)
        self.replicaAcknowledgements = 0
        self.replicaTimeout = .milliseconds(500)
    }
}
