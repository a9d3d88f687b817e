import NIOCore
import SigV4
import Tokens
import Wire

/// `ISSUE <method> <bucket> <key> [TTL s] [USES n] [CONTENT-TYPE v] [CONTENT-LENGTH n] [TAG t]…
/// [PARAM name value]… [PROFILE p]`: signs a URL and stores its state before handing it out.
extension Broker {
    /// At most this many tags per URL, each at most `maxTagBytes` long.
    static let maxTags = 16
    static let maxTagBytes = 128
    /// Store calls one ISSUE may make, each refused because its URL was taken (by an identical
    /// ISSUE on another instance) before the next offset is tried.
    package static let maxIssueAttempts = 64

    func issue(
        _ arguments: inout CommandArguments, client: ClientPolicy, settings: BrokerSettings, on eventLoop: any EventLoop
    ) throws(BrokerError) -> EventLoopFuture<Reply> {
        let request = try IssueRequest(parsing: &arguments, client: client, settings: settings)
        guard let profile = settings.profiles[request.profile] else {
            throw BrokerError(.err, "unknown profile '\(Self.printable(request.profile, limit: 64))'")
        }
        let now = clock()
        let second = now / 1000
        let first: PresignedURL
        do throws(SigV4Error) {
            first = try profile.signer.presign(request.presign, at: second)
        } catch {
            throw BrokerError(.err, error.message)
        }
        return issue(
            request, firstID: first.tokenId, first: first, previousOffset: -1, attempt: 1, profile: profile,
            client: client, now: now, on: eventLoop)
    }

    /// Signs the ISSUE's URL at its next offset (`IdenticalIssues`; `first` is the URL at offset 0,
    /// whose token id names the request) and stores its token, answered on `eventLoop` without a
    /// task where the store allows. An offset's URL is signed that many seconds before this second
    /// and valid as much longer, so that it ends at the same moment. (At the longest lifetime SigV4
    /// allows it cannot be longer, and ends that much earlier.) If the store answers that the token
    /// exists (an identical ISSUE on another instance took the offset), the next offset is tried.
    private func issue(
        _ request: IssueRequest, firstID: String, first: PresignedURL, previousOffset: Int, attempt: Int,
        profile: Profile, client: ClientPolicy, now: Int64, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Reply> {
        let second = now / 1000
        let offset: Int
        switch identicalIssues.pick(for: firstID, second: second, refused: previousOffset >= 0 ? previousOffset : nil) {
        case .offset(let picked): offset = picked
        case .unfollowed: offset = previousOffset + 1
        case .exhausted: offset = IdenticalIssues.maxOffset + 1
        }
        guard offset <= IdenticalIssues.maxOffset, attempt <= Self.maxIssueAttempts else {
            return eventLoop.makeFailedFuture(BrokerError(.err, "too many identical ISSUEs in one second; try again"))
        }
        let presign = request.presign
        let signed: PresignedURL
        if offset == 0 {
            signed = first
        } else {
            var earlier = presign
            earlier.expires = min(presign.expires + Int64(offset), PresignRequest.maxExpires)
            do throws(SigV4Error) {
                signed = try profile.signer.presign(earlier, at: second - Int64(offset))
            } catch {
                return eventLoop.makeFailedFuture(BrokerError(.err, error.message))
            }
        }
        let id = offset == 0 ? firstID : signed.tokenId
        let token = NewToken(
            id: id, method: presign.method.rawValue, bucket: presign.bucket, key: presign.key,
            profile: profile.name, uses: request.uses, issuedAt: now, expiresAt: signed.expiresAt * 1000,
            issuer: client.id, tags: request.tags)
        // One promise completed from one callback, as for CONSUME.
        let promise = eventLoop.makePromise(of: Reply.self)
        store.create(token, on: eventLoop).whenComplete { [self] result in
            switch result {
            case .success:
                audit.record(
                    .issue, client: client.id, token: id, bucket: presign.bucket, key: presign.key,
                    outcome: "OK",
                    extra: [
                        "method": "\(presign.method.rawValue)", "uses": "\(request.uses)",
                        "expires_at": "\(signed.expiresAt)", "profile": "\(profile.name)",
                    ])
                promise.succeed(
                    .record([
                        "id": .bulk(id),
                        "url": .bulk(profile.publicURL(for: signed)),
                        "method": .bulk(presign.method.rawValue),
                        "expires_at": .integer(Int(signed.expiresAt)),
                        "uses": .integer(request.uses),
                        "headers": .array(presign.headersToSend.flatMap { [Reply.bulk($0.name), .bulk($0.value)] }),
                    ]))
            case .failure(let error as TokenError) where error.code == .exists:
                promise.completeWith(
                    issue(
                        request, firstID: firstID, first: first, previousOffset: offset, attempt: attempt + 1,
                        profile: profile, client: client, now: now, on: eventLoop))
            case .failure(let error):
                var converted = BrokerError(tokenError: TokenError(storeFailure: error))
                if converted.code == .expired {
                    // Not a denial: the lifetime counts from the start of the signing second, and a
                    // TTL of a second or two can end before the token is stored.
                    converted = BrokerError(
                        .err, "the URL expired before it was stored (its lifetime counts from the start of the second): ask for a longer TTL")
                }
                audit.record(
                    .issue, client: client.id, bucket: presign.bucket, key: presign.key,
                    outcome: converted.code.rawValue, reason: converted.message)
                promise.fail(converted)
            }
        }
        return promise.futureResult
    }
}

/// A parsed and authorized ISSUE.
struct IssueRequest: Sendable {
    var presign: PresignRequest
    var uses: Int
    var tags: [String]
    var profile: String

    init(parsing arguments: inout CommandArguments, client: ClientPolicy, settings: BrokerSettings) throws(BrokerError) {
        let methodName = try arguments.string("method").asciiUppercased
        guard let method = S3Method(rawValue: methodName) else {
            throw BrokerError(.err, "method must be GET, PUT, HEAD or DELETE")
        }
        let bucket = try arguments.string("bucket")
        let key = try arguments.string("key")
        let limits = settings.limits
        var ttl = limits.defaultTTL
        var uses = 1
        var headers: [(name: String, value: String)] = []
        var query: [(name: String, value: String)] = []
        var tags: [String] = []
        var profile: String?
        let maxTTL = min(client.maxTTL ?? limits.maxTTL, limits.maxTTL)
        let maxUses = min(client.maxUses ?? limits.maxUses, limits.maxUses)
        // Options that take one value may be given once (TAG and PARAM add one each time).
        var given: Set<String> = []
        while !arguments.isAtEnd {
            let option = try arguments.string("option").asciiUppercased
            if ["TTL", "USES", "CONTENT-TYPE", "CONTENT-LENGTH", "PROFILE"].contains(option) {
                guard given.insert(option).inserted else { throw BrokerError(.err, "\(option) is given twice") }
            }
            switch option {
            case "TTL":
                let text = try arguments.string("TTL")
                guard let value = CommandArguments.integer(text), value >= 1 else { throw BrokerError(.err, "TTL must be a whole number of seconds, at least 1") }
                guard value <= limits.maxTTL else {
                    throw BrokerError(.err, "TTL \(value) exceeds limits.max_ttl (\(limits.maxTTL) seconds)")
                }
                guard value <= maxTTL else { throw BrokerError(.noPerm, "TTL \(value) exceeds the client's maximum of \(maxTTL) seconds") }
                ttl = value
            case "USES":
                let text = try arguments.string("USES")
                guard let value = CommandArguments.integer(text), value >= 1 else { throw BrokerError(.err, "USES must be a whole number, at least 1") }
                guard value <= limits.maxUses else {
                    throw BrokerError(.err, "USES \(value) exceeds limits.max_uses (\(limits.maxUses))")
                }
                guard value <= maxUses else { throw BrokerError(.noPerm, "USES \(value) exceeds the client's maximum of \(maxUses)") }
                uses = value
            case "CONTENT-TYPE":
                headers.append((name: "Content-Type", value: try arguments.string("CONTENT-TYPE")))
            case "CONTENT-LENGTH":
                let value = try arguments.integer("CONTENT-LENGTH", in: 0...5_497_558_138_880)
                headers.append((name: "Content-Length", value: String(value)))
            case "TAG":
                let tag = try arguments.string("TAG")
                guard !tag.isEmpty, tag.utf8.count <= Broker.maxTagBytes,
                    tag.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && $0 != "," })
                else {
                    throw BrokerError(.err, "TAG must be 1 to \(Broker.maxTagBytes) bytes without spaces, commas or control characters")
                }
                guard tags.count < Broker.maxTags else { throw BrokerError(.err, "at most \(Broker.maxTags) TAGs per URL") }
                if !tags.contains(tag) { tags.append(tag) }
            case "PARAM":
                let name = try arguments.string("PARAM name")
                let value = try arguments.string("PARAM value")
                guard !name.isEmpty, !name.lowercased().hasPrefix("x-amz-") else {
                    throw BrokerError(.err, "PARAM name must be non-empty and must not start with X-Amz-")
                }
                query.append((name: name, value: value))
            case "PROFILE":
                profile = try arguments.string("PROFILE")
            default:
                throw BrokerError(.err, "unknown ISSUE option '\(Broker.printable(option, limit: 32))'")
            }
        }
        if let methods = client.methods, !methods.contains(method.rawValue) {
            throw BrokerError(.noPerm, "client '\(client.id)' may not issue \(method.rawValue) URLs")
        }
        guard client.allows(bucket: bucket, key: key) else {
            throw BrokerError(.noPerm, "client '\(client.id)' may not issue URLs for this bucket or key")
        }
        let chosen = profile ?? client.profiles?.first ?? settings.defaultProfile
        guard let chosen else { throw BrokerError(.err, "no S3 profile is configured") }
        if let allowed = client.profiles, !allowed.contains(chosen) {
            throw BrokerError(.noPerm, "client '\(client.id)' may not use profile '\(Broker.printable(chosen, limit: 64))'")
        }
        self.presign = PresignRequest(
            method: method, bucket: bucket, key: key, expires: Int64(ttl), headers: headers, query: query)
        self.uses = uses
        self.tags = tags
        self.profile = chosen
    }
}
