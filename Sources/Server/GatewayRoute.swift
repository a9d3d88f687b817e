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
    /// Answered at once: 404 / 405, or a 403 denial for an authorize request that cannot be read.
    case refuse(HTTPResponseStatus, BrokerError?)

    /// The Envoy `ext_authz` prefix: `path_prefix` puts it before the original path.
    static let extPrefix = "/v1/authorize/ext"

    /// Metric label of the route.
    var endpoint: String {
        switch self {
        case .authorize: "authorize"
        case .commit: "commit"
        case .release: "release"
        case .health: "healthz"
        case .ready: "readyz"
        case .metrics: "metrics"
        case .refuse(let status, _): status == .forbidden ? "authorize" : "other"
        }
    }

    init(method: HTTPMethod, uri: String, headers: HTTPHeaders) {
        let path = uri.prefix { $0 != "?" }
        let query = uri.dropFirst(path.count + 1)
        if path == Self.extPrefix || path.hasPrefix(Self.extPrefix + "/") {
            // Envoy: the request's own method, and its target minus the prefix.
            let original = String(uri.dropFirst(Self.extPrefix.count))
            self = Self.authorize(
                method: method.rawValue, uri: original, headers: headers, mode: Self.mode(query: "", headers: headers))
            return
        }
        switch path {
        case "/v1/authorize":
            guard method == .GET || method == .POST else {
                self = .refuse(.methodNotAllowed, nil)
                return
            }
            // nginx sends X-Original-*, Traefik X-Forwarded-* (its X-Forwarded-Host is not used:
            // the signed host comes from the URL's profile, never from a request).
            guard let original = headers.first(name: "x-original-method") ?? headers.first(name: "x-forwarded-method"),
                let target = headers.first(name: "x-original-uri") ?? headers.first(name: "x-forwarded-uri")
            else {
                self = .refuse(
                    .forbidden, BrokerError(.err, "the original request is missing: send X-Original-Method and X-Original-URI"))
                return
            }
            self = Self.authorize(
                method: original, uri: target, headers: headers, mode: Self.mode(query: query, headers: headers))
        case "/v1/commit", "/v1/release":
            guard method == .POST else {
                self = .refuse(.methodNotAllowed, nil)
                return
            }
            guard let lease = headers.first(name: "x-presign-lease"), !lease.isEmpty else {
                self = .refuse(.forbidden, BrokerError(.err, "X-Presign-Lease is missing"))
                return
            }
            self = path == "/v1/commit" ? .commit(lease: lease) : .release(lease: lease)
        case "/healthz", "/readyz", "/metrics":
            guard method == .GET || method == .HEAD else {
                self = .refuse(.methodNotAllowed, nil)
                return
            }
            self = path == "/healthz" ? .health : path == "/readyz" ? .ready : .metrics
        default:
            self = .refuse(.notFound, nil)
        }
    }

    private static func authorize(
        method: String, uri: String, headers: HTTPHeaders, mode: Result<AuthorizeMode, BrokerError>
    ) -> GatewayRoute {
        switch mode {
        case .failure(let error): return .refuse(.forbidden, error)
        case .success(let mode):
            return .authorize(AuthorizeRequest(method: method, uri: uri, headers: originalHeaders(headers), mode: mode))
        }
    }

    /// `?mode=reserve` (nginx, Traefik: the authorize URL is the gateway's own) or the
    /// `X-Presign-Mode` header (Envoy, whose query belongs to the original request); a lease
    /// length from `X-Presign-Lease-Ms`.
    static func mode(query: Substring, headers: HTTPHeaders) -> Result<AuthorizeMode, BrokerError> {
        var mode = headers.first(name: "x-presign-mode")
        for pair in query.split(separator: "&") where pair.hasPrefix("mode=") {
            mode = String(pair.dropFirst("mode=".count))
        }
        switch mode {
        case nil, "consume": return .success(.consume)
        case "reserve":
            guard let text = headers.first(name: "x-presign-lease-ms") else { return .success(.reserve(leaseMillis: nil)) }
            guard let millis = Int(text), (1...604_800_000).contains(millis) else {
                return .failure(BrokerError(.err, "X-Presign-Lease-Ms must be an integer from 1 to 604800000"))
            }
            return .success(.reserve(leaseMillis: millis))
        default:
            return .failure(BrokerError(.err, "mode must be consume or reserve"))
        }
    }

    /// The original request's headers by lowercase name, for signed headers. Repeated headers
    /// join with commas, as SigV4 canonicalisation does. nginx's auth subrequest cannot carry
    /// the original Content-Length (it has no body), so `X-Original-Content-Length` stands in.
    static func originalHeaders(_ headers: HTTPHeaders) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if let existing = result[lower] {
                result[lower] = existing + "," + value
            } else {
                result[lower] = value
            }
        }
        if let length = result["x-original-content-length"] {
            result["content-length"] = length
        }
        return result
    }
}
