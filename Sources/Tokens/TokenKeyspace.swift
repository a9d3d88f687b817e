import SigV4
/// The names of presignd's keys in Redis, under a configurable prefix (default `presign:`).
///
/// Each name embeds caller input, so building a name validates that input: a `{` in a bucket or
/// a tag would move the hash tag, a `,` in a tag would split it in the comma-joined field.
/// Keys of one token share the hash tag `{<id>}`, so one token is one slot on Redis Cluster.
package struct TokenKeyspace: Sendable, Hashable {
    /// The prefix of every key, e.g. `presign:`.
    package let prefix: String

    /// A keyspace under `prefix`; `.err` if the prefix holds a brace or a control character.
    package init(prefix: String = "presign:") throws(TokenError) {
        guard !prefix.isEmpty, prefix.utf8.count <= 64, !prefix.unicodeScalars.contains(where: Self.isForbiddenInName)
        else { throw TokenError(.err, "key prefix must be 1-64 bytes without braces, spaces or control characters") }
        self.prefix = prefix
    }

    /// `<prefix>t:{<id>}`: the hash holding one token.
    package func token(_ id: String) throws(TokenError) -> String {
        guard Self.isTokenID(id) else { throw TokenError(.err, "token id must be 22 characters of base64url") }
        return "\(prefix)t:{\(id)}"
    }

    /// `<prefix>oz:{<bucket>/<hex SHA-256 of key>}`: the index of the ids issued for one object, a
    /// sorted set scored by each token's expiry (unix ms). The key is hashed so that the name has a
    /// fixed length whatever the key holds.
    package func object(bucket: String, key: String) throws(TokenError) -> String {
        "\(prefix)oz:\(try hashTag(bucket: bucket, key: key))"
    }

    /// `<prefix>gz:{<tag>}`: the index of the ids issued with one tag, scored like `object`'s.
    package func tag(_ tag: String) throws(TokenError) -> String {
        "\(prefix)gz:\(try hashTag(tag: tag))"
    }

    /// `<prefix>o:{…}`, the plain set (no scores) that daemons up to library v4 index an object's
    /// ids in. Revocation still reads it: it holds the ids of URLs those daemons issued, and Redis
    /// deletes it when the last of them expires.
    package func legacyObject(bucket: String, key: String) throws(TokenError) -> String {
        "\(prefix)o:\(try hashTag(bucket: bucket, key: key))"
    }

    /// `<prefix>g:{<tag>}`, the plain set of a tag's ids of daemons up to library v4 (`legacyObject`).
    package func legacyTag(_ tag: String) throws(TokenError) -> String {
        "\(prefix)g:\(try hashTag(tag: tag))"
    }

    /// `{<bucket>/<hex SHA-256 of key>}`, an object's hash tag.
    private func hashTag(bucket: String, key: String) throws(TokenError) -> String {
        guard !bucket.isEmpty, bucket.utf8.count <= 255,
            !bucket.unicodeScalars.contains(where: { Self.isForbiddenInName($0) || $0 == "/" })
        else { throw TokenError(.err, "bucket must be 1-255 bytes without '/', braces, spaces or control characters") }
        guard !key.isEmpty, key.utf8.count <= 1024 else { throw TokenError(.err, "key must be 1-1024 bytes") }
        return "{\(bucket)/\(Digest.sha256(Array(key.utf8)).hex)}"
    }

    /// `{<tag>}`, a tag's hash tag.
    private func hashTag(tag: String) throws(TokenError) -> String {
        guard !tag.isEmpty, tag.utf8.count <= 128,
            !tag.unicodeScalars.contains(where: { Self.isForbiddenInName($0) || $0 == "," })
        else { throw TokenError(.err, "tag must be 1-128 bytes without ',', braces, spaces or control characters") }
        return "{\(tag)}"
    }

    /// `<prefix>events`: the Stream of invalidation events.
    package var events: String { prefix + "events" }

    /// `<prefix>invalidations`: the pub/sub channel carrying the same events live.
    package var invalidations: String { prefix + "invalidations" }

    /// Whether `id` has the shape of a token id: 22 characters of base64url without padding.
    package static func isTokenID(_ id: String) -> Bool {
        id.utf8.count == 22 && id.utf8.allSatisfy(isBase64URL)
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    private static func isForbiddenInName(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "{" || scalar == "}" || scalar == " " || scalar.value < 0x20 || scalar.value == 0x7f
    }
}
