import Logging
import Tokens
import Wire

/// `REVOKE <target> [REASON text]`, `REVOKE OBJECT <bucket> <key> [REASON text]`,
/// `REVOKE TAG <tag> [REASON text]`.
extension Broker {
    static let maxReasonBytes = 256

    func revoke(
        _ arguments: inout CommandArguments, client: ClientPolicy, settings: BrokerSettings
    ) throws(BrokerError) -> @Sendable () async throws(BrokerError) -> Reply {
        let first = try arguments.string("target")
        let what: RevocationTarget
        switch first.asciiUppercased {
        case "OBJECT":
            let bucket = try arguments.string("bucket")
            let key = try arguments.string("key")
            guard client.allows(bucket: bucket, key: key) else {
                throw outsideScope(client, .revoke)
            }
            what = .object(bucket, key)
        case "TAG":
            // A tag spans buckets: a client limited to some may not revoke by one.
            guard !client.isScoped else {
                throw BrokerError(
                    .noPerm, "client '\(client.id)' is limited to buckets or key prefixes and may not revoke by tag")
            }
            what = .tag(try arguments.string("tag"))
        default:
            what = .one(try resolve(Target(first), method: nil, settings: settings, allowExpired: true))
        }
        var given: String?
        while !arguments.isAtEnd {
            guard try arguments.string("option").asciiUppercased == "REASON" else {
                throw BrokerError(.err, "syntax error: REVOKE <target>|OBJECT <bucket> <key>|TAG <tag> [REASON text]")
            }
            let text = try Self.once(given, "REASON", arguments.string("REASON"))
            guard text.utf8.count <= Self.maxReasonBytes else {
                throw BrokerError(.err, "REASON is longer than \(Self.maxReasonBytes) bytes")
            }
            given = text
        }
        let reason = given ?? "revoked"
        return { [self, reason] () async throws(BrokerError) -> Reply in
            // One audit line per command, with how many URLs it revoked (the event Stream has one
            // entry per URL).
            var token: String?
            var bucket: String?
            var key: String?
            var extra: Logger.Metadata = [:]
            switch what {
            case .one(let target): token = target.id
            case .object(let objectBucket, let objectKey): (bucket, key) = (objectBucket, objectKey)
            case .tag(let tag): extra["tag"] = "\(tag)"
            }
            do throws(BrokerError) {
                guard let count = try await revoked(what, client: client, reason: reason) else {
                    throw outsideScope(client, .revoke)
                }
                extra["revoked.count"] = "\(count)"
                audit.record(
                    .revoke, client: client.id, token: token, bucket: bucket, key: key, outcome: "OK", reason: reason,
                    extra: extra)
                return .integer(count)
            } catch {
                audit.record(
                    .revoke, client: client.id, token: token, bucket: bucket, key: key,
                    outcome: error.code.rawValue, reason: error.message, extra: extra)
                throw error
            }
        }
    }

    /// What one REVOKE revokes.
    enum RevocationTarget: Sendable {
        case one(ResolvedTarget)
        case object(String, String)
        case tag(String)
    }

    /// Revokes `what` and returns how many URLs it revoked; nil when the token is outside the
    /// client's scope (a scoped client's revocation of one token is checked first).
    private func revoked(_ what: RevocationTarget, client: ClientPolicy, reason: String) async throws(BrokerError)
        -> Int?
    {
        do throws(TokenError) {
            switch what {
            case .one(let target):
                if client.isScoped, try await isOutsideScope(tokenID: target.id, client: client) { return nil }
                return try await store.revoke(id: target.id, by: client.id, reason: reason) ? 1 : 0
            case .object(let bucket, let key):
                return try await store.revokeObject(bucket: bucket, key: key, by: client.id, reason: reason)
            case .tag(let tag):
                return try await store.revokeTag(tag, by: client.id, reason: reason)
            }
        } catch {
            throw BrokerError(tokenError: error)
        }
    }
}
