import Broker
import NIOHTTP1
import Testing

@testable import Server

/// The original request as nginx and as Traefik describe it.
private let nginx: [(String, String)] = [("X-Original-Method", "GET"), ("X-Original-URI", "/b/k?q")]
private let traefik: [(String, String)] = [("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/b/k?q")]

/// A question the route must deny: what it sends, words of the error, the action audited.
struct DenialCase: Sendable, CustomTestStringConvertible {
    let uri: String
    let headers: [(String, String)]
    let message: String
    let action: AuditTrail.Action

    init(_ uri: String, _ headers: [(String, String)], _ message: String, _ action: AuditTrail.Action = .consume) {
        (self.uri, self.headers, self.message, self.action) = (uri, headers, message, action)
    }

    var testDescription: String { "\(uri) \(headers.map(\.0)): \(message)" }
}

private let denialCases: [DenialCase] = [
    DenialCase("/v1/authorize", [], "X-Original-Method"),
    DenialCase("/v1/authorize?mode=later", nginx, "mode must be"),
    DenialCase("/v1/authorize?mode=reserve&lease_ms=0", nginx, "lease_ms must be", .reserve),
    DenialCase("/v1/authorize?mode=reserve&mode=consume", nginx, "mode is repeated", .reserve),
    DenialCase("/v1/authorize?lease_ms=5", nginx, "only for mode reserve"),
    DenialCase("/v1/authorize?other=1", nginx, "unknown query parameter"),
    // A client's header passed on by the gateway must not choose the mode, or a lease of 1 ms.
    DenialCase("/v1/authorize", nginx + [("X-Presign-Mode", "reserve")], "X-Presign-Mode is not read"),
    DenialCase(
        "/v1/authorize?mode=reserve", nginx + [("X-Presign-Lease-Ms", "1")], "X-Presign-Lease-Ms is not read", .reserve),
    // Traefik passes client headers on: X-Original-* next to its own X-Forwarded-* came from the client.
    DenialCase("/v1/authorize", traefik + [("X-Original-Method", "GET"), ("X-Original-URI", "/c/d?q")], "both"),
    DenialCase("/v1/authorize", traefik + [("X-Original-Content-Length", "1")], "both"),
    DenialCase("/v1/authorize", nginx + [("X-Forwarded-Uri", "/c/d?q")], "both"),
    DenialCase("/v1/authorize", nginx + [("X-Original-URI", "/c/d?q")], "X-Original-URI is repeated"),
    DenialCase("/v1/authorize", traefik + [("x-forwarded-method", "PUT")], "X-Forwarded-Method is repeated"),
    DenialCase(
        "/v1/authorize/ext/b/k?q", [("X-Presign-Mode", "reserve"), ("X-Presign-Mode", "consume")], "repeated", .reserve),
    DenialCase("/v1/authorize", [("X-Original-Method", "GET"), ("X-Original-URI", "/b/\u{FFFD}?q")], "not UTF-8"),
]

@Suite("GatewayRoute: each gateway's way of describing the original request")
struct GatewayRouteTests {
    static let url = "/bucket/a%20b.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab"

    private func route(_ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = []) -> GatewayRoute {
        GatewayRoute(method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    private func authorize(_ route: GatewayRoute) -> AuthorizeRequest? {
        if case .authorize(let request) = route { return request }
        return nil
    }

    @Test("nginx: X-Original-Method and X-Original-URI, target unchanged")
    func nginx() {
        let request = authorize(
            route(.GET, "/v1/authorize", [("X-Original-Method", "PUT"), ("X-Original-URI", Self.url)]))
        #expect(request?.method == "PUT")
        #expect(request?.uri == Self.url)
        #expect(request?.mode == .consume)
    }

    @Test("Traefik: X-Forwarded-Method and X-Forwarded-Uri, beside X-Original-* headers presignd does not read")
    func traefik() {
        let request = authorize(
            route(
                .GET, "/v1/authorize",
                [
                    ("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", Self.url), ("X-Forwarded-Host", "gw.example"),
                    ("X-Original-Host", "cdn.example"),
                ]))
        #expect(request?.method == "GET")
        #expect(request?.uri == Self.url)
    }

    @Test("Envoy: the path after the prefix, query included, and the request's own method")
    func envoy() {
        let request = authorize(route(.HEAD, "/v1/authorize/ext" + Self.url))
        #expect(request?.method == "HEAD")
        #expect(request?.uri == Self.url)
        // The original query is not read for the mode: only the headers set it.
        let reserve = authorize(
            route(
                .PUT, "/v1/authorize/ext/b/k?mode=reserve",
                [("X-Presign-Mode", "reserve"), ("X-Presign-Lease-Ms", "500")]))
        #expect(reserve?.uri == "/b/k?mode=reserve")
        #expect(reserve?.mode == .reserve(leaseMillis: 500))
        #expect(authorize(route(.PUT, "/v1/authorize/ext/b/k?mode=reserve"))?.mode == .consume)
    }

    @Test(
        "nginx and Traefik: the mode and lease come from the authorize URL's query",
        arguments: [
            ("/v1/authorize", AuthorizeMode.consume),
            ("/v1/authorize?mode=consume", .consume),
            ("/v1/authorize?mode=reserve", .reserve(leaseMillis: nil)),
            ("/v1/authorize?mode=reserve&lease_ms=500", .reserve(leaseMillis: 500)),
            ("/v1/authorize?lease_ms=500&mode=reserve", .reserve(leaseMillis: 500)),
        ] as [(String, AuthorizeMode)])
    func modes(uri: String, mode: AuthorizeMode) {
        let headers = [("X-Original-Method", "GET"), ("X-Original-URI", Self.url)]
        #expect(authorize(route(.GET, uri, headers))?.mode == mode)
    }

    @Test("unreadable or ambiguous questions are 403 denials, audited as the mode they ask for", arguments: denialCases)
    func denials(_ denial: DenialCase) {
        guard case .deny(let error, let audited) = route(.GET, denial.uri, denial.headers) else {
            Issue.record("expected a denial")
            return
        }
        #expect(error.code == .err)
        #expect(error.message.contains(denial.message), "\(error.message)")
        #expect(audited == denial.action)
    }

    @Test("commit and release need one X-Presign-Lease; wrong routes are 404 and wrong methods 405")
    func refusals() {
        let missing = route(.POST, "/v1/commit")
        #expect(missing == .deny(BrokerError(.err, "X-Presign-Lease is missing"), .commit))
        guard
            case .deny(let error, .release) = route(
                .POST, "/v1/release", [("X-Presign-Lease", "a"), ("X-Presign-Lease", "b")])
        else {
            Issue.record("expected a denial")
            return
        }
        #expect(error.message == "X-Presign-Lease is repeated")
        #expect(route(.DELETE, "/v1/authorize") == .refuse(.methodNotAllowed))
        #expect(route(.GET, "/v1/release", [("X-Presign-Lease", "x")]) == .refuse(.methodNotAllowed))
        #expect(route(.POST, "/metrics") == .refuse(.methodNotAllowed))
        #expect(route(.GET, "/v1/authorizex") == .refuse(.notFound))
    }

    @Test("commit and release read X-Presign-Lease; health, readiness, metrics")
    func otherRoutes() {
        #expect(route(.POST, "/v1/commit", [("X-Presign-Lease", "id.nonce")]) == .commit(lease: "id.nonce"))
        #expect(route(.POST, "/v1/release", [("X-Presign-Lease", "id.nonce")]) == .release(lease: "id.nonce"))
        #expect(route(.GET, "/healthz") == .health)
        #expect(route(.GET, "/readyz") == .ready)
        #expect(route(.GET, "/metrics") == .metrics)
    }

    @Test("signed headers: lowercase names, repeats joined, X-Original-Content-Length stands in")
    func originalHeaders() {
        let sent = HTTPHeaders([
            ("Content-Type", "text/plain"), ("X-Amz-Meta-A", "1"), ("x-amz-meta-a", "2"),
            ("X-Original-Content-Length", "7"),
        ])
        let headers = GatewayRoute.originalHeaders(sent, lengthFromNginx: true)
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["x-amz-meta-a"] == "1,2")
        #expect(headers["content-length"] == "7")
        // Envoy's own request has no body: the stand-in is nginx's alone.
        #expect(GatewayRoute.originalHeaders(sent, lengthFromNginx: false)["content-length"] == nil)
    }
}

@Suite("PrometheusText")
struct PrometheusTextTests {
    @Test("HELP and TYPE once per name, escaped labels, +Inf and whole numbers")
    func format() {
        var text = PrometheusText()
        text.add("a_total", type: "counter", help: "A.", labels: [("l", "x\"y\\z\nw")], value: 3)
        text.add("a_total", type: "counter", help: "A.", labels: [("l", "b")], value: 0.25)
        text.add(
            "h", type: "histogram", help: "H.", suffix: "_bucket", labels: [("le", "+Inf")], value: Double.infinity)
        #expect(
            text.text == """
                # HELP a_total A.
                # TYPE a_total counter
                a_total{l="x\\"y\\\\z\\nw"} 3
                a_total{l="b"} 0.25
                # HELP h H.
                # TYPE h histogram
                h_bucket{le="+Inf"} +Inf

                """)
    }
}
