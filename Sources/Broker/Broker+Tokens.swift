import Logging
import NIOCore
import SigV4
import Tokens
import Wire

/// CONSUME, RESERVE, COMMIT, RELEASE and CHECK.
extension Broker {
    /// `CONSUME <target> [METHOD m]` → `:<uses left>`.
    func consume(
        _ arguments: inout CommandArguments, client: ClientPolicy, settings: BrokerSettings, on eventLoop: any EventLoop
    ) throws(BrokerError) -> EventLoopFuture<Int> {
        let target = try Target(arguments.string("target"))
        var method: String?
        while !arguments.isAtEnd {
            switch try arguments.string("option").asciiUppercased {
            case "METHOD": method = try Self.once(method, "METHOD", arguments.string("METHOD").asciiUppercased)
            default: throw BrokerError(.err, "syntax error: CONSUME <target> [METHOD m]")
            }
        }
        let resolved = try resolve(target, method: method, settings: settings)
        // What every gateway sends for every request: no scope, no detour.
        guard client.isScoped else { return spend(resolved, client: client.id, on: eventLoop) }
        return withinScope(resolved, .consume, client: client, on: eventLoop).flatMap { [self] in
            spend(resolved, client: client.id, on: eventLoop)
        }
    }

    /// `RESERVE <target> [METHOD m] [LEASE ms]` → `$<lease>`.
    func reserve(
        _ arguments: inout CommandArguments, client: ClientPolicy, settings: BrokerSettings, on eventLoop: any EventLoop
    ) throws(BrokerError) -> EventLoopFuture<String> {
        let target = try Target(arguments.string("target"))
        var method: String?
        var leaseGiven: Int?
        while !arguments.isAtEnd {
            switch try arguments.string("option").asciiUppercased {
            case "METHOD": method = try Self.once(method, "METHOD", arguments.string("METHOD").asciiUppercased)
            case "LEASE":
                leaseGiven = try Self.once(leaseGiven, "LEASE", arguments.integer("LEASE", in: 1...604_800_000))
            default: throw BrokerError(.err, "syntax error: RESERVE <target> [METHOD m] [LEASE ms]")
            }
        }
        let lease = leaseGiven ?? settings.limits.defaultLeaseMs
        let resolved = try resolve(target, method: method, settings: settings)
        guard client.isScoped else { return hold(resolved, leaseMillis: lease, client: client.id, on: eventLoop) }
        return withinScope(resolved, .reserve, client: client, on: eventLoop).flatMap { [self, lease] in
            hold(resolved, leaseMillis: lease, client: client.id, on: eventLoop)
        }
    }

    /// `value` for an option that may be given once, `earlier` its value so far (nil: not given yet).
    static func once<Value>(_ earlier: Value?, _ option: String, _ value: Value) throws(BrokerError) -> Value {
        guard earlier == nil else { throw BrokerError(.err, "\(option) is given twice") }
        return value
    }

    /// `COMMIT <lease>` / `RELEASE <lease>` → `+OK`.
    func settle(
        _ arguments: inout CommandArguments, client: ClientPolicy, commit: Bool, on eventLoop: any EventLoop
    ) throws(BrokerError) -> EventLoopFuture<Void> {
        let lease = try arguments.string("lease")
        try arguments.expectEnd()
        // Unscoped, or malformed (the store refuses that before Redis, with its own audit line).
        guard client.isScoped, let id = Self.leaseTokenID(lease) else {
            return settleLease(lease: lease, commit: commit, client: client.id, on: eventLoop)
        }
        return withinScope(ResolvedTarget(id: id), commit ? .commit : .release, client: client, on: eventLoop)
            .flatMap { [self] in settleLease(lease: lease, commit: commit, client: client.id, on: eventLoop) }
    }

    /// Succeeds when `client`, limited to buckets or key prefixes, may act on the target's token:
    /// when the token's object is within them, read from the verified URL or, for an id, from the
    /// token's record (one CHECK first: bucket and key never change, so it cannot go stale). A
    /// token outside them fails NOPERM, audited; one that does not exist is left to the command
    /// itself to answer.
    func withinScope(
        _ target: ResolvedTarget, _ action: AuditTrail.Action, client: ClientPolicy, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Void> {
        let refused = { @Sendable [self] () -> BrokerError in
            let error = outsideScope(client, action)
            audit.record(action, client: client.id, token: target.id, object: target.object, denied: error)
            return error
        }
        if let object = target.object {
            return client.allows(bucket: object.bucket, key: object.key)
                ? eventLoop.makeSucceededVoidFuture() : eventLoop.makeFailedFuture(refused())
        }
        return eventLoop.makeFutureWithTask { [self] in try await isOutsideScope(tokenID: target.id, client: client) }
            .flatMapError { [self] error in
                eventLoop.makeFailedFuture(denial(TokenError(storeFailure: error), action, target, client: client.id))
            }
            .flatMapThrowing { outside in
                if outside { throw refused() }
            }
    }

    /// Whether the token `tokenID` exists and its object is outside `client`'s buckets or key
    /// prefixes, read from its record (one CHECK: bucket and key never change, so the answer
    /// cannot go stale). A token that does not exist is not outside: its command answers that.
    func isOutsideScope(tokenID: String, client: ClientPolicy) async throws(TokenError) -> Bool {
        guard let record = try await store.check(id: tokenID) else { return false }
        return !client.allows(bucket: record.bucket, key: record.key)
    }

    /// The NOPERM answer to a client acting on a token outside its buckets or key prefixes.
    func outsideScope(_ client: ClientPolicy, _ action: AuditTrail.Action) -> BrokerError {
        BrokerError(.noPerm, "client '\(client.id)' may not \(action.rawValue) in this bucket or under this key")
    }

    // MARK: the store calls, shared by the line protocol and the HTTP authorize endpoint

    // Called on `eventLoop` (a connection's), these need no task: they are what gateways send
    // for every request.

    /// Spends one use of a resolved target for `client`; the future holds the uses left.
    func spend(_ resolved: ResolvedTarget, client: String, on eventLoop: any EventLoop) -> EventLoopFuture<Int> {
        let spent = store.consume(id: resolved.id, method: resolved.method, on: eventLoop)
        return decided(spent, .consume, resolved, client: client) { [audit] spent in
            audit.record(
                .consume, client: client, token: resolved.id, bucket: spent.object.bucket, key: spent.object.key,
                outcome: "OK", extra: ["uses.left": "\(spent.usesLeft)"])
            return spent.usesLeft
        }
    }

    /// Holds one use of a resolved target for `leaseMillis`; the future holds the lease.
    func hold(_ resolved: ResolvedTarget, leaseMillis: Int, client: String, on eventLoop: any EventLoop)
        -> EventLoopFuture<String>
    {
        let held = store.reserve(
            id: resolved.id, method: resolved.method, leaseMillis: Int64(leaseMillis), on: eventLoop)
        return decided(held, .reserve, resolved, client: client) { [audit] held in
            audit.record(
                .reserve, client: client, token: resolved.id, bucket: held.object.bucket, key: held.object.key,
                outcome: "OK", extra: ["lease.ms": "\(leaseMillis)"])
            return held.lease
        }
    }

    /// Spends (`commit`) or gives back the use a lease holds.
    func settleLease(lease: String, commit: Bool, client: String, on eventLoop: any EventLoop) -> EventLoopFuture<Void>
    {
        // A lease is `<token id>.<nonce>`: only the id part is logged, the nonce is the secret.
        let id = Self.leaseTokenID(lease)
        let action: AuditTrail.Action = commit ? .commit : .release
        let settled = store.settle(lease: lease, commit: commit, on: eventLoop)
        return decided(settled, action, id.map { ResolvedTarget(id: $0) }, client: client) { [audit] object in
            audit.record(action, client: client, token: id, bucket: object.bucket, key: object.key, outcome: "OK")
        }
    }

    /// A store decision about `target` as the broker answers it: `allowed` (which writes its audit
    /// line) makes the value of a success; a failure becomes the denial's `BrokerError`, audited
    /// with the token and, for a URL, the object it names. One promise, completed from one callback.
    private func decided<Decision: Sendable, Value: Sendable>(
        _ decision: EventLoopFuture<Decision>, _ action: AuditTrail.Action, _ target: ResolvedTarget?,
        client: String, allowed: @escaping @Sendable (Decision) -> Value
    ) -> EventLoopFuture<Value> {
        let promise = decision.eventLoop.makePromise(of: Value.self)
        decision.whenComplete { [self] result in
            switch result {
            case .success(let decision):
                promise.succeed(allowed(decision))
            case .failure(let error):
                promise.fail(denial(TokenError(storeFailure: error), action, target, client: client))
            }
        }
        return promise.futureResult
    }

    /// The token id part of a lease, nil when the lease is not even shaped like one.
    static func leaseTokenID(_ lease: String) -> String? {
        guard let dot = lease.firstIndex(of: "."), TokenKeyspace.isTokenID(String(lease[..<dot])) else { return nil }
        return String(lease[..<dot])
    }

    /// `CHECK <target>` → the token's record, or nil when unknown.
    /// A token outside a scoped client's buckets and key prefixes is answered as unknown (nil):
    /// the scope limits what it may see, not only what it may issue.
    func check(
        _ arguments: inout CommandArguments, client: ClientPolicy, settings: BrokerSettings
    ) throws(BrokerError) -> @Sendable () async throws(BrokerError) -> Reply {
        let target = try Target(arguments.string("target"))
        try arguments.expectEnd()
        let resolved = try resolve(target, method: nil, settings: settings, allowExpired: true)
        return { [self] () async throws(BrokerError) -> Reply in
            let record: TokenRecord?
            do throws(TokenError) {
                record = try await store.check(id: resolved.id)
            } catch {
                throw BrokerError(tokenError: error)
            }
            guard let record, client.allows(bucket: record.bucket, key: record.key) else { return .null }
            return .record([
                "id": .bulk(record.id),
                "state": .bulk(record.state.rawValue),
                "uses_left": .integer(record.usesLeft),
                "uses_max": .integer(record.usesMax),
                "method": .bulk(record.method),
                "bucket": .bulk(record.bucket),
                "key": .bulk(record.key),
                "expires_at": .integer(Int(record.expiresAt / 1000)),
                "issued_at": .integer(Int(record.issuedAt / 1000)),
                "issuer": .bulk(record.issuer),
                "tags": .array(record.tags.map { .bulk($0) }),
            ])
        }
    }

    /// A denial from the store, written to the audit trail (where a second use of a spent or
    /// revoked URL is a tripwire warning).
    func denial(_ error: TokenError, _ action: AuditTrail.Action, _ target: ResolvedTarget?, client: String)
        -> BrokerError
    {
        let converted = BrokerError(tokenError: error)
        audit.record(action, client: client, token: target?.id, object: target?.object, denied: converted)
        return converted
    }
}

/// A target resolved to a token id, with the method the URL was verified for and, for a URL, the
/// object its path names (so that a denial's audit line says which object was asked for).
struct ResolvedTarget: Sendable, Equatable {
    var id: String
    var method: String?
    var object: TokenObject?
    /// The lowercase names of the headers a verified URL signs (`host` at least); empty for an id.
    var signedHeaders: [String]

    init(id: String, method: String? = nil, object: TokenObject? = nil, signedHeaders: [String] = []) {
        self.id = id
        self.method = method
        self.object = object
        self.signedHeaders = signedHeaders
    }
}

extension Broker {
    /// Turns a target into a token id. A URL is verified first — signature for the host its
    /// profile signs for, and expiry — so a bad or expired URL never reaches Redis.
    ///
    /// `requestHeaderNames` (lowercase) are the headers the original request carries, when known
    /// (the HTTP endpoint): S3 refuses a request with an `x-amz-*` header its signature does not
    /// cover, and so does this, before a use is spent on it.
    ///
    /// `headers` gives the original request's header values (the HTTP endpoint); nil where there
    /// is no request but the URL (the line protocol), so a URL that signs other headers than
    /// `host` cannot be verified there, and the answer says to give its token id instead.
    func resolve(
        _ target: Target, method: String?, settings: BrokerSettings, allowExpired: Bool = false,
        headers: ((String) -> String?)? = nil, requestHeaderNames: some Sequence<String> = [String]()
    ) throws(BrokerError) -> ResolvedTarget {
        switch target {
        case .id(let id):
            return ResolvedTarget(id: id, method: method)
        case .url(let url):
            let resolved: ResolvedTarget
            do throws(BrokerError) {
                resolved = try verify(
                    url, method: method, settings: settings, allowExpired: allowExpired,
                    headers: headers ?? { _ in nil })
            } catch let error where headers == nil && error.message.hasPrefix("signed header ") {
                let hint = "a URL that signs headers other than host is a target here by its token id only"
                throw BrokerError(error.code, "\(error.message): \(hint)")
            }
            if let name = requestHeaderNames.first(where: {
                Self.mustBeSigned($0) && !resolved.signedHeaders.contains($0)
            }) {
                throw BrokerError(
                    .badSignature, "the request has a header the URL does not sign: \(name.prefix(64))",
                    subject: resolved)
            }
            return resolved
        }
    }

    /// An `x-amz-*` request header S3 wants signed. `x-amz-content-sha256` is the exception: S3
    /// takes it unsigned on a presigned request (the URL signs `UNSIGNED-PAYLOAD`).
    static func mustBeSigned(_ name: String) -> Bool {
        name.hasPrefix("x-amz-") && name != "x-amz-content-sha256"
    }

    /// Verifies a presigned URL against the profile of its access key. Without a method, the
    /// URL is tried as each S3 method (the method is signed, so at most one can verify).
    func verify(
        _ url: String, method: String?, settings: BrokerSettings, allowExpired: Bool, headers: (String) -> String?
    ) throws(BrokerError) -> ResolvedTarget {
        // Parsed once, however many methods it is tried as.
        let parsed = PresignVerifier.Parsed(url)
        guard let accessKey = parsed.accessKeyId else {
            throw BrokerError(.badSignature, parsed.problem ?? "not a presigned URL")
        }
        guard let profile = settings.profilesByAccessKey[accessKey] else {
            throw BrokerError(.badSignature, "the URL's access key belongs to no configured profile")
        }
        let now = clock() / 1000
        let (signedHost, virtualBucket) = profile.signedHost(authority: parsed.authority)
        // A genuine URL as a target: its token, the method it verified for, and the object it names.
        func target(_ verified: VerifiedURL, _ method: String) -> ResolvedTarget {
            ResolvedTarget(
                id: verified.tokenId, method: method,
                object: profile.object(atPath: verified.path, virtualBucket: virtualBucket),
                signedHeaders: verified.signedHeaders)
        }
        let candidates = method.map { [$0] } ?? S3Method.allCases.map(\.rawValue)
        var firstProblem = "signature does not match"
        for candidate in candidates {
            switch settings.verifier.verify(
                method: candidate, url: parsed, signedHost: signedHost, headers: headers, now: now)
            {
            case .valid(let verified):
                return target(verified, candidate)
            case .expired(let verified):
                if allowExpired { return target(verified, candidate) }
                // Genuine but late: the audit line says which token and object were asked for.
                throw BrokerError(.expired, "the URL expired", subject: target(verified, candidate))
            case .badSignature(let reason):
                firstProblem = reason
            case .malformed(let reason):
                throw BrokerError(.badSignature, reason)
            }
        }
        if let method {
            // The signature is over the method: if it verifies for another one, say so.
            for other in S3Method.allCases.map(\.rawValue) where other != method {
                if case .valid(let verified) = settings.verifier.verify(
                    method: other, url: parsed, signedHost: signedHost, headers: headers, now: now)
                {
                    throw BrokerError(
                        .mismatch, "the URL was issued for \(other), not \(method)", subject: target(verified, other))
                }
            }
        }
        throw BrokerError(.badSignature, firstProblem)
    }
}
