/// Where a token is in its life. Spent and revoked tokens stay in Redis as tombstones until they
/// expire, so a replay is told `USED` or `REVOKED` rather than `UNKNOWN`.
package enum TokenState: String, Sendable, Hashable, CaseIterable {
    /// Has uses left (some may be held by leases).
    case active
    /// Every use is spent.
    case spent
    /// Revoked by an admin.
    case revoked
}
