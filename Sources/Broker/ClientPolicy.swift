/// A client of the line protocol: its identity, the hash of its secret, its roles and scopes.
package struct ClientPolicy: Sendable {
    package var id: String
    /// SHA-256 of the secret; the secret itself is never stored.
    package var secretSHA256: [UInt8]
    /// A second accepted SHA-256 while the client's secret is rotated (old and new both work);
    /// nil outside a rotation.
    package var alternateSecretSHA256: [UInt8]?
    package var roles: Set<Role>
    /// Buckets it may issue URLs for and revoke objects in; nil means any.
    package var buckets: Set<String>?
    /// Key prefixes it may issue URLs for; nil means any.
    package var keyPrefixes: [String]?
    /// Methods it may issue URLs for; nil means any.
    package var methods: Set<String>?
    /// Its largest TTL in seconds; nil means the daemon's limit.
    package var maxTTL: Int?
    /// Its largest use count; nil means the daemon's limit.
    package var maxUses: Int?
    /// Profiles it may issue with; nil means any. The first is its default.
    package var profiles: [String]?

    package init(
        id: String, secretSHA256: [UInt8], roles: Set<Role>, buckets: Set<String>? = nil,
        keyPrefixes: [String]? = nil, methods: Set<String>? = nil, maxTTL: Int? = nil, maxUses: Int? = nil,
        profiles: [String]? = nil, alternateSecretSHA256: [UInt8]? = nil
    ) {
        self.id = id
        self.secretSHA256 = secretSHA256
        self.alternateSecretSHA256 = alternateSecretSHA256
        self.roles = roles
        self.buckets = buckets
        self.keyPrefixes = keyPrefixes
        self.methods = methods
        self.maxTTL = maxTTL
        self.maxUses = maxUses
        self.profiles = profiles
    }

    /// The client an open listener (dev mode, or a Unix socket guarded by file permissions)
    /// acts as: every role, no scopes.
    package static func open(id: String) -> ClientPolicy {
        ClientPolicy(id: id, secretSHA256: [], roles: Set(Role.allCases))
    }

    /// Whether `hash` is one of the accepted secret hashes.
    func accepts(secretSHA256 hash: [UInt8]) -> Bool {
        hash == secretSHA256 || hash == alternateSecretSHA256
    }

    /// Whether buckets or key prefixes limit this client (what it may issue, check, revoke and
    /// see of the revocation events).
    var isScoped: Bool { buckets != nil || keyPrefixes != nil }

    /// Whether this client may issue a URL for `bucket`/`key` (and check, revoke and see events
    /// about it).
    func allows(bucket: String, key: String) -> Bool {
        if let buckets, !buckets.contains(bucket) { return false }
        // Byte for byte, as S3 names objects: String's hasPrefix compares canonically equivalent
        // text as equal, so a prefix `Å/` would also admit `A` + U+030A, another object.
        if let keyPrefixes, !keyPrefixes.contains(where: { key.utf8.starts(with: $0.utf8) }) { return false }
        return true
    }
}
