import Broker
import NIOHTTP1
import Testing

@testable import Server

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
        let request = authorize(route(.GET, "/v1/authorize", [("X-Original-Method", "PUT"), ("X-Original-URI", Self.url)]))
        #expect(request?.method == "PUT")
        #expect(request?.uri == Self.url)
        #expect(request?.mode == .consume)
    }

    @Test("Traefik: X-Forwarded-Method and X-Forwarded-Uri")
    func traefik() {
        let request = authorize(
            route(
                .GET, "/v1/authorize",
                [("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", Self.url), ("X-Forwarded-Host", "gw.example")]))
        #expect(request?.method == "GET")
        #expect(request?.uri == Self.url)
    }

    @Test("Envoy: the path after the prefix, query included, and the request's own method")
    func envoy() {
        let request = authorize(route(.HEAD, "/v1/authorize/ext" + Self.url))
        #expect(request?.method == "HEAD")
        #expect(request?.uri == Self.url)
        // The original query is not read for the mode: only the header sets it.
        let reserve = authorize(route(.PUT, "/v1/authorize/ext/b/k?mode=reserve", [("X-Presign-Mode", "reserve")]))
        #expect(reserve?.uri == "/b/k?mode=reserve")
        #expect(reserve?.mode == .reserve(leaseMillis: nil))
        #expect(authorize(route(.PUT, "/v1/authorize/ext/b/k?mode=reserve"))?.mode == .consume)
    }

    @Test(
        "mode from the query or X-Presign-Mode; lease from X-Presign-Lease-Ms",
        arguments: [
            ("/v1/authorize?mode=reserve", [], AuthorizeMode.reserve(leaseMillis: nil)),
            ("/v1/authorize?mode=consume", [("X-Presign-Mode", "reserve")], .consume),
            ("/v1/authorize", [("X-Presign-Mode", "reserve"), ("X-Presign-Lease-Ms", "500")], .reserve(leaseMillis: 500)),
        ] as [(String, [(String, String)], AuthorizeMode)])
    func modes(uri: String, extra: [(String, String)], mode: AuthorizeMode) {
        let headers = [("X-Original-Method", "GET"), ("X-Original-URI", Self.url)] + extra
        #expect(authorize(route(.GET, uri, headers))?.mode == mode)
    }

    @Test(
        "unreadable questions are 403 denials with a code, wrong routes 404/405",
        arguments: [
            (HTTPMethod.GET, "/v1/authorize", [], HTTPResponseStatus.forbidden, "ERR"),
            (.GET, "/v1/authorize?mode=later", [("X-Original-Method", "GET"), ("X-Original-URI", "/b/k?q")], .forbidden, "ERR"),
            (.GET, "/v1/authorize?mode=reserve", [("X-Original-Method", "GET"), ("X-Original-URI", "/b/k?q"), ("X-Presign-Lease-Ms", "0")], .forbidden, "ERR"),
            (.POST, "/v1/commit", [], .forbidden, "ERR"),
            (.DELETE, "/v1/authorize", [], .methodNotAllowed, ""),
            (.GET, "/v1/release", [("X-Presign-Lease", "x")], .methodNotAllowed, ""),
            (.POST, "/metrics", [], .methodNotAllowed, ""),
            (.GET, "/v1/authorizex", [], .notFound, ""),
        ] as [(HTTPMethod, String, [(String, String)], HTTPResponseStatus, String)])
    func refusals(method: HTTPMethod, uri: String, headers: [(String, String)], status: HTTPResponseStatus, code: String) {
        guard case .refuse(let got, let error) = route(method, uri, headers) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(got == status)
        #expect((error?.code.rawValue ?? "") == code)
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
        let headers = GatewayRoute.originalHeaders(
            HTTPHeaders([("Content-Type", "text/plain"), ("X-Amz-Meta-A", "1"), ("x-amz-meta-a", "2"), ("X-Original-Content-Length", "7")]))
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["x-amz-meta-a"] == "1,2")
        #expect(headers["content-length"] == "7")
    }
}

@Suite("PrometheusText")
struct PrometheusTextTests {
    @Test("HELP and TYPE once per name, escaped labels, +Inf and whole numbers")
    func format() {
        var text = PrometheusText()
        text.add("a_total", type: "counter", help: "A.", labels: [("l", "x\"y\\z\nw")], value: 3)
        text.add("a_total", type: "counter", help: "A.", labels: [("l", "b")], value: 0.25)
        text.add("h", type: "histogram", help: "H.", suffix: "_bucket", labels: [("le", "+Inf")], value: Double.infinity)
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
