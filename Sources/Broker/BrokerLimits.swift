/// The limits on what a command may ask for (PROTOCOL.md defaults).
package struct BrokerLimits: Sendable, Equatable {
    /// TTL of an ISSUE without `TTL`, seconds.
    package var defaultTTL: Int = 900
    /// Largest TTL, seconds (SigV4 allows at most 604800).
    package var maxTTL: Int = 604_800
    /// Largest `USES`.
    package var maxUses: Int = 1_000_000
    /// Lease of a RESERVE without `LEASE`, milliseconds.
    package var defaultLeaseMs: Int = 60_000

    package init() {}
}
