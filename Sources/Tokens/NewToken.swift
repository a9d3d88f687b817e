/// What `TokenStore.create` stores for a freshly presigned URL.
package struct NewToken: Sendable, Hashable {
    /// The token id: 22 characters of base64url (PROTOCOL.md, "Token ids").
    package var id: String
    /// The HTTP method the URL was signed for, e.g. `GET`.
    package var method: String
    /// The bucket (no `/`, `{`, `}`, spaces or control characters).
    package var bucket: String
    /// The object key (1…1024 bytes, as S3 allows).
    package var key: String
    /// The signing profile's name; may be empty.
    package var profile: String
    /// How many times the URL may be used: 1…1,000,000.
    package var uses: Int
    /// When the URL was signed, unix ms.
    package var issuedAt: Int64
    /// When the URL stops working (`X-Amz-Date` + `X-Amz-Expires`), unix ms. The record's key
    /// expires at this very millisecond.
    package var expiresAt: Int64
    /// Who asked for it (a client id); may be empty.
    package var issuer: String
    /// Tags for revoking by tag (each 1…128 bytes, no `,`, `{`, `}` or control characters).
    package var tags: [String]

    package init(
        id: String, method: String, bucket: String, key: String, profile: String = "", uses: Int = 1,
        issuedAt: Int64, expiresAt: Int64, issuer: String = "", tags: [String] = []
    ) {
        self.id = id
        self.method = method
        self.bucket = bucket
        self.key = key
        self.profile = profile
        self.uses = uses
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.issuer = issuer
        self.tags = tags
    }
}
