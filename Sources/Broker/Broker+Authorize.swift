import NIOCore
import SigV4
import Tokens

/// How an authorize request takes its use.
package enum AuthorizeMode: Sendable, Equatable {
    /// The use is spent now (nginx `auth_request`, Traefik, Envoy: gateways that cannot report
    /// how the upstream request ended).
    case consume
    /// The use is held until the gateway commits or releases it, or the lease runs out
    /// (`nil`: the configured default lease).
    case reserve(leaseMillis: Int?)
}

/// The original request a gateway asks about, whatever transport carried the question.
package struct AuthorizeRequest: Sendable, Equatable {
    /// The original request's method (`GET`, `PUT`, …).
    package var method: String
    /// The original request's origin-form target, `/path?query`, exactly as the client sent it.
    package var uri: String
    /// The original request's headers by lowercase name, for signed headers other than host
    /// (e.g. `content-type`). Host never comes from here: it comes from the URL's profile.
    package var headers: [String: String]
    package var mode: AuthorizeMode
    /// Who asks, for the audit trail: the endpoint has no client authentication, so this is the
    /// transport's notion of the caller (the HTTP endpoint uses `http:<peer address>`).
    package var client: String

    package init(
        method: String, uri: String, headers: [String: String] = [:], mode: AuthorizeMode = .consume,
        client: String = "http"
    ) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.mode = mode
        self.client = client
    }
}

/// A gateway's answer: allow (with what the gateway passes on) or deny with a protocol code.
package enum AuthorizeResult: Sendable, Equatable {
    /// The use was spent; `usesLeft` remain.
    case allowed(id: String, usesLeft: Int)
    /// A use is held by `lease` until COMMIT, RELEASE or the lease's end.
    case reserved(id: String, lease: String)
    /// Denied; `error.code` is the stable reason (USED, REVOKED, BADSIG, UNAVAILABLE, …).
    case denied(BrokerError)
}

/// The transport-neutral gateway API: what the HTTP authorize endpoint calls. It runs the same
/// verify → consume / reserve → commit / release path as the line protocol's commands.
extension Broker {
    /// Verifies the original request's URL (signature for the host its profile signs for,
    /// expiry, method) on the calling event loop, then consumes or reserves one use in Redis.
    /// The future never fails: every problem, Redis trouble included, is a `.denied`.
    ///
    /// There is no client authentication here: the caller is whatever reached the endpoint, so
    /// only a URL that verifies can be consumed, and ids are never accepted in place of a URL.
    package func authorize(_ request: AuthorizeRequest, on eventLoop: any EventLoop) -> EventLoopFuture<AuthorizeResult> {
        let command = request.mode == .consume ? "CONSUME" : "RESERVE"
        let resolved: ResolvedTarget
        do {
            resolved = try resolveOriginal(request)
        } catch {
            counters.record(command: command, outcome: error.code.rawValue)
            audit.record(request.mode == .consume ? .consume : .reserve, client: request.client, denied: error)
            return eventLoop.makeSucceededFuture(.denied(error))
        }
        let settings = self.settings
        let result: EventLoopFuture<AuthorizeResult>
        switch request.mode {
        case .consume:
            result = spend(resolved, client: request.client, on: eventLoop).map { .allowed(id: resolved.id, usesLeft: $0) }
        case .reserve(let lease):
            let millis = lease ?? settings.limits.defaultLeaseMs
            result = hold(resolved, leaseMillis: millis, client: request.client, on: eventLoop).map {
                .reserved(id: resolved.id, lease: $0)
            }
        }
        return counted(command, result) { outcome in
            switch outcome {
            case .success(let allowed): allowed
            case .failure(let denial): .denied(denial)
            }
        }
    }

    /// Counts and audits a gateway's question that was refused before it could be read (a
    /// header missing or repeated, a bad mode): such refusals are decisions too.
    package func refused(_ action: AuditTrail.Action, client: String, error: BrokerError) {
        counters.record(command: action.rawValue.uppercased(), outcome: error.code.rawValue)
        audit.record(action, client: client, denied: error)
    }

    /// Commits (spends) or releases (gives back) the use a reserve held. `nil` on success.
    package func settle(
        lease: String, commit: Bool, client: String = "http", on eventLoop: any EventLoop
    ) -> EventLoopFuture<BrokerError?> {
        let settled = settleLease(lease: lease, commit: commit, client: client, on: eventLoop)
        return counted(commit ? "COMMIT" : "RELEASE", settled) { outcome in
            if case .failure(let denial) = outcome { denial } else { nil }
        }
    }

    /// Whether the store can serve requests (Redis reachable, Function library loaded); the
    /// reason when not.
    package func readiness(on eventLoop: any EventLoop) -> EventLoopFuture<BrokerError?> {
        eventLoop.makeFutureWithImmediateTask { [store] in
            do throws(TokenError) {
                try await store.ready()
                return nil
            } catch {
                return BrokerError(tokenError: error)
            }
        }
    }

    /// Commands and their outcomes counted since start, e.g. `("consume", "USED", 3)`.
    package var commandOutcomes: [(command: String, outcome: String, count: Int)] { counters.snapshot }

    private func resolveOriginal(_ request: AuthorizeRequest) throws(BrokerError) -> ResolvedTarget {
        // HTTP methods are case-sensitive (RFC 9110 §9.1): `get` is not GET, whatever S3 makes of it.
        let method = request.method
        guard S3Method(rawValue: method) != nil else {
            throw BrokerError(.mismatch, "the original method is not GET, PUT, HEAD or DELETE (in capitals)")
        }
        // Only origin-form URLs: a bare token id would skip verification.
        guard request.uri.hasPrefix("/"), request.uri.utf8.contains(UInt8(ascii: "?")) else {
            throw BrokerError(.badSignature, "the original URI is not a presigned URL")
        }
        let headers = request.headers
        return try resolve(
            .url(request.uri), method: method, settings: settings, headers: { headers[$0] },
            requestHeaderNames: headers.keys)
    }
}
