/// A token's state as `CHECK` reports it.
package struct TokenRecord: Sendable, Hashable {
    /// The token id.
    package var id: String
    /// Active, spent or revoked.
    package var state: TokenState
    /// Uses that a consume or reserve could still take now: not spent and not held by a running lease
    /// (a lease that ran out counts as free even before a write removes it).
    package var usesLeft: Int
    /// The uses it was issued with.
    package var usesMax: Int
    /// Leases running now.
    package var leasesHeld: Int
    /// The HTTP method it was issued for.
    package var method: String
    /// The bucket.
    package var bucket: String
    /// The object key.
    package var key: String
    /// The signing profile; may be empty.
    package var profile: String
    /// When it was issued, unix ms.
    package var issuedAt: Int64
    /// When it expires, unix ms.
    package var expiresAt: Int64
    /// Who issued it; may be empty.
    package var issuer: String
    /// Its tags.
    package var tags: [String]

    package init(
        id: String, state: TokenState, usesLeft: Int, usesMax: Int, leasesHeld: Int, method: String,
        bucket: String, key: String, profile: String, issuedAt: Int64, expiresAt: Int64, issuer: String,
        tags: [String]
    ) {
        self.id = id
        self.state = state
        self.usesLeft = usesLeft
        self.usesMax = usesMax
        self.leasesHeld = leasesHeld
        self.method = method
        self.bucket = bucket
        self.key = key
        self.profile = profile
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.issuer = issuer
        self.tags = tags
    }
}
