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

    /// A configuration over `seeds` with `node`'s settings (its `replicaAcknowledgements` apply to every
    /// node) and a 5 s periodic refresh.
    package init(seeds: [RedisConfiguration.Endpoint], node: RedisConfiguration) {
        self.seeds = seeds
        self.node = node
        self.refreshInterval = .seconds(5)
    }
}
