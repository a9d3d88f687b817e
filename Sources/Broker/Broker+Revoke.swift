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
        enum What { case one(ResolvedTarget), object(String, String), tag(String) }
        let what: What
        switch first.uppercased() {
        case "OBJECT":
            let bucket = try arguments.string("bucket")
            let key = try arguments.string("key")
            if let buckets = client.buckets, !buckets.contains(bucket) {
                throw BrokerError(.noPerm, "client '\(client.id)' may not revoke in this bucket")
            }
            what = .object(bucket, key)
        case "TAG":
            what = .tag(try arguments.string("tag"))
        default:
            what = .one(try resolve(Target(first), method: nil, settings: settings, allowExpired: true))
        }
        var reason = "revoked"
        if !arguments.isAtEnd {
            guard try arguments.string("option").uppercased() == "REASON" else {
                throw BrokerError(.err, "syntax error: REVOKE <target>|OBJECT <bucket> <key>|TAG <tag> [REASON text]")
            }
            reason = try arguments.string("REASON")
            guard reason.utf8.count <= Self.maxReasonBytes else {
                throw BrokerError(.err, "REASON is longer than \(Self.maxReasonBytes) bytes")
            }
        }
        try arguments.expectEnd()
        return { [self, reason] () async throws(BrokerError) -> Reply in
            do throws(TokenError) {
                let count: Int
                switch what {
                case .one(let target):
                    count = try await store.revoke(id: target.id, by: client.id, reason: reason) ? 1 : 0
                    logger.info("revoked", metadata: ["client.id": "\(client.id)", "token.id": "\(target.id)", "revoked.count": "\(count)"])
                case .object(let bucket, let key):
                    count = try await store.revokeObject(bucket: bucket, key: key, by: client.id, reason: reason)
                    logger.info("revoked", metadata: ["client.id": "\(client.id)", "bucket": "\(bucket)", "key": "\(key)", "revoked.count": "\(count)"])
                case .tag(let tag):
                    count = try await store.revokeTag(tag, by: client.id, reason: reason)
                    logger.info("revoked", metadata: ["client.id": "\(client.id)", "tag": "\(tag)", "revoked.count": "\(count)"])
                }
                return .integer(count)
            } catch {
                throw BrokerError(tokenError: error)
            }
        }
    }
}
