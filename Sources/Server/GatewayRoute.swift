import Broker
import NIOHTTP1

/// What one HTTP request asks for, read from its method, target and headers alone (no I/O), so
/// every gateway's dialect is tested without a socket.
enum GatewayRoute: Equatable {
    case authorize(AuthorizeRequest)
    case commit(lease: String)
    case release(lease: String)
    case health
    case ready
    case metrics
    /// Answered at once with 404 or 405: not a route, or not its method.
    case refuse(HTTPResponseStatus)
    /// A gateway's question that cannot be read: a 403 denial, audited and counted as `action`.
    case deny(BrokerError, AuditTrail.Action)

    /// The Envoy `ext_authz` prefix: `path_prefix` puts it before the original path.
    static let extPrefix = "/v1/authorize/ext"

    /// Headers that describe the original request or steer presignd. Each may appear once: a
    /// gateway sets them, so a second copy came from the client (and which one wins would be a
    /// guess).
    static let singleHeaders = [
        "X-Original-Method", "X-Original-URI", "X-Original-Content-Length", "X-Forwarded-Method", "X-Forwarded-Uri",
        "X-Presign-Mode", "X-Presign-Lease-Ms", "X-Presign-Lease",
    ]

    /// Metric label of the route.
    var endpoint: String {
        switch self {
        case .authorize: "authorize"
        case .commit: "commit"
        case .release: "release"
        case .health: "healthz"
        case .ready: "readyz"
        case .metrics: "metrics"
        case .refuse: "other"
        case .deny(_, let action): action == .commit || action == .release ? action.rawValue : "authorize"
        }
    }

    init(method: HTTPMethod, uri: String, headers: HTTPHeaders) {
        let path = uri.prefix { $0 != "?" }
        let query = uri.dropFirst(path.count + 1)
        if path == Self.extPrefix || path.hasPrefix(Self.extPrefix + "/") {
            self = Self.authorize(method: method, uri: uri, query: query, headers: headers, isExt: true)
            return
        }
        switch path {
        case "/v1/authorize":
            guard method == .GET || method == .POST else {
                self = .refuse(.methodNotAllowed)
                return
            }
            self = Self.authorize(method: method, uri: uri, query: query, headers: headers, isExt: false)
        case "/v1/commit", "/v1/release":
            let action: AuditTrail.Action = path == "/v1/commit" ? .commit : .release
            guard method == .POST else {
                self = .refuse(.methodNotAllowed)
                return
            }
            if let problem = Self.repeatedHeader(headers) {
                self = .deny(problem, action)
                return
            }
            guard let lease = headers.first(name: "x-presign-lease"), !lease.isEmpty else {
                self = .deny(BrokerError(.err, "X-Presign-Lease is missing"), action)
                return
            }
            self = action == .commit ? .commit(lease: lease) : .release(lease: lease)
        case "/healthz", "/readyz", "/metrics":
            guard method == .GET || method == .HEAD else {
                self = .refuse(.methodNotAllowed)
                return
            }
            self = path == "/healthz" ? .health : path == "/readyz" ? .ready : .metrics
        default:
            self = .refuse(.notFound)
        }
    }

    /// An authorize question in one of the three dialects. Envoy (`isExt`): the request's own
    /// method, its target minus the prefix, the mode in headers (Envoy's `headers_to_add`; the
    /// query is the original request's). nginx and Traefik: the original request in
    /// `X-Original-*` or `X-Forwarded-*` headers, the mode in the query of the authorize URL,
    /// which is the gateway's own configuration; never from headers, which a gateway that passes
    /// the client's headers on (Traefik) would let the client choose.
    private static func authorize(
        method: HTTPMethod, uri: String, query: Substring, headers: HTTPHeaders, isExt: Bool
    ) -> GatewayRoute {
        let mode: Result<AuthorizeMode, BrokerError> = isExt ? Self.mode(headers: headers) : Self.mode(query: query)
        // The action a refusal is audited as: the mode asked for, even when the rest is wrong.
        let asksReserve =
            isExt
            ? headers.first(name: "x-presign-mode") == "reserve" : query.split(separator: "&").contains("mode=reserve")
        let action: AuditTrail.Action = asksReserve ? .reserve : .consume
        if let problem = repeatedHeader(headers) { return .deny(problem, action) }
        let original: (method: String, uri: String)
        if isExt {
            original = (method.rawValue, String(uri.dropFirst(Self.extPrefix.count)))
        } else {
            if let name = ["X-Presign-Mode", "X-Presign-Lease-Ms"].first(where: { headers.contains(name: $0) }) {
                return .deny(
                    BrokerError(
                        .err,
                        "\(name) is not read on /v1/authorize: the mode goes in its query (?mode=reserve&lease_ms=N)"),
                    action)
            }
            // nginx sends X-Original-*, Traefik X-Forwarded-* (its X-Forwarded-Host is not used:
            // the signed host comes from the URL's profile, never from a request). Both at once
            // means one of them came from the client. (Only the three X-Original-* headers presignd
            // reads count: a proxy in front may add others, such as X-Original-Host.)
            let nginx = ["x-original-method", "x-original-uri", "x-original-content-length"].contains {
                headers.contains(name: $0)
            }
            let traefik = headers.contains(name: "x-forwarded-method") || headers.contains(name: "x-forwarded-uri")
            if nginx && traefik {
                return .deny(
                    BrokerError(
                        .err, "the original request is described by both X-Original-* and X-Forwarded-* headers"),
                    action)
            }
            guard let method = headers.first(name: nginx ? "x-original-method" : "x-forwarded-method"),
                let target = headers.first(name: nginx ? "x-original-uri" : "x-forwarded-uri")
            else {
                return .deny(
                    BrokerError(.err, "the original request is missing: send X-Original-Method and X-Original-URI"),
                    action)
            }
            original = (method, target)
        }
        // NIO decodes header bytes that are not UTF-8 as U+FFFD; such a target would verify as
        // another one (a key with U+FFFD in it) while the upstream gets the raw bytes.
        if original.method.unicodeScalars.contains("\u{FFFD}") || original.uri.unicodeScalars.contains("\u{FFFD}") {
            return .deny(BrokerError(.err, "the original request has bytes that are not UTF-8"), action)
        }
        switch mode {
        case .failure(let error): return .deny(error, action)
        case .success(let mode):
            return .authorize(
                AuthorizeRequest(
                    method: original.method, uri: original.uri,
                    headers: originalHeaders(headers, lengthFromNginx: !isExt),
                    mode: mode))
        }
    }

    /// The first of `singleHeaders` that appears more than once, as a denial.
    private static func repeatedHeader(_ headers: HTTPHeaders) -> BrokerError? {
        singleHeaders.first { headers[$0].count > 1 }.map { BrokerError(.err, "\($0) is repeated") }
    }

    /// The mode from the authorize URL's query: `mode=consume|reserve` and, with reserve,
    /// `lease_ms=N`; nothing else, each once.
    static func mode(query: Substring) -> Result<AuthorizeMode, BrokerError> {
        var mode: Substring?
        var lease: Substring?
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name = pair.prefix { $0 != "=" }
            let value = pair.dropFirst(name.count + 1)
            switch name {
            case "mode" where mode == nil: mode = value
            case "lease_ms" where lease == nil: lease = value
            case "mode", "lease_ms": return .failure(BrokerError(.err, "query parameter \(name) is repeated"))
            default:
                return .failure(
                    BrokerError(.err, "unknown query parameter on /v1/authorize (mode and lease_ms are read)"))
            }
        }
        return Self.mode(mode.map(String.init), lease: lease.map(String.init), leaseName: "lease_ms")
    }

    /// The mode from `X-Presign-Mode` and `X-Presign-Lease-Ms` (Envoy).
    static func mode(headers: HTTPHeaders) -> Result<AuthorizeMode, BrokerError> {
        Self.mode(
            headers.first(name: "x-presign-mode"), lease: headers.first(name: "x-presign-lease-ms"),
            leaseName: "X-Presign-Lease-Ms")
    }

    private static func mode(_ mode: String?, lease: String?, leaseName: String) -> Result<AuthorizeMode, BrokerError> {
        switch mode {
        case nil, "consume":
            guard lease == nil else { return .failure(BrokerError(.err, "\(leaseName) is only for mode reserve")) }
            return .success(.consume)
        case "reserve":
            guard let lease else { return .success(.reserve(leaseMillis: nil)) }
            guard let millis = Int(lease), (1...604_800_000).contains(millis) else {
                return .failure(BrokerError(.err, "\(leaseName) must be an integer from 1 to 604800000"))
            }
            return .success(.reserve(leaseMillis: millis))
        default:
            return .failure(BrokerError(.err, "mode must be consume or reserve"))
        }
    }

    /// The original request's headers by lowercase name, for signed headers. Repeated headers
    /// join with commas, as SigV4 canonicalisation does. nginx's auth subrequest cannot carry
    /// the original Content-Length (it has no body), so `X-Original-Content-Length` stands in
    /// (`lengthFromNginx`; Envoy and Traefik send the length of their own, empty, request).
    static func originalHeaders(_ headers: HTTPHeaders, lengthFromNginx: Bool) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if let existing = result[lower] {
                result[lower] = existing + "," + value
            } else {
                result[lower] = value
            }
        }
        if lengthFromNginx, let length = result["x-original-content-length"] {
            result["content-length"] = length
        }
        return result
    }
}
