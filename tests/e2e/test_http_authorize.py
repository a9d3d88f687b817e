"""The HTTP authorize endpoint alone, in each gateway's dialect: nginx (X-Original-*), Traefik
ForwardAuth (X-Forwarded-*), Envoy ext_authz HTTP (path_prefix + the original method); plus
reserve/commit/release, health, readiness, metrics and the limits. No S3 here: presignd
verifies the signature itself."""

import http.client
import socket
import time

import pytest

from gateway import issue, origin_form, send, tamper_signature
from support import Presignd, RedisProc, function_library_name, wait_for

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000", "addressing": "path",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDHTTP0001", "secret_access_key": "http-secret-key/for+tests",
}
CLIENTS = {
    "issuer": {"secret": "issuer-secret-0123456789abcdef01", "roles": ["issue"]},
    "admin": {"secret": "admin-secret-0123456789abcdef0123", "roles": ["admin"]},
}


@pytest.fixture(scope="module")
def daemon(redis_server):
    # Debug level: the tests check that not even debug lines hold request bytes.
    d = Presignd(redis_server, CLIENTS, PROFILE, http=True, args=["--log-level", "debug"])
    yield d
    d.stop()


def base(d):
    return f"http://127.0.0.1:{d.http_port}"


def nginx_style(d, method, url, mode=None, **extra):
    query = f"?mode={mode}" if mode else ""
    return send("GET", base(d) + "/v1/authorize" + query,
                headers={"X-Original-Method": method, "X-Original-URI": origin_form(url), **extra})


def test_nginx_headers_consume_then_used(daemon):
    record = issue(daemon, "GET", "bkt", "k/one.txt", "USES", "2")
    status, headers, _ = nginx_style(daemon, "GET", record["url"])
    assert status == 200
    assert headers["x-presign-id"] == record["id"]
    assert headers["x-presign-uses-left"] == "1"
    assert headers["cache-control"] == "no-store"
    assert nginx_style(daemon, "GET", record["url"])[1]["x-presign-uses-left"] == "0"
    status, headers, body = nginx_style(daemon, "GET", record["url"])
    assert (status, headers["x-presign-deny"]) == (403, "USED")
    assert body.startswith(b"USED")


def test_traefik_forwarded_headers(daemon):
    url = issue(daemon, "PUT", "bkt", "traefik/x.bin")["url"]
    headers = {"X-Forwarded-Method": "PUT", "X-Forwarded-Uri": origin_form(url),
               "X-Forwarded-Host": "gateway.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.9"}
    assert send("GET", base(daemon) + "/v1/authorize", headers=headers)[0] == 200
    status, answer, _ = send("GET", base(daemon) + "/v1/authorize", headers=headers)
    assert (status, answer["x-presign-deny"]) == (403, "USED")


def test_envoy_path_prefix_uses_the_request_method(daemon):
    url = issue(daemon, "PUT", "bkt", "envoy/a b.bin")["url"]
    target = base(daemon) + "/v1/authorize/ext" + origin_form(url)
    status, headers, _ = send("GET", target)  # a PUT URL asked about as GET
    assert (status, headers["x-presign-deny"]) == (403, "MISMATCH")
    status, headers, _ = send("PUT", target, b"")
    assert (status, headers["x-presign-uses-left"]) == (200, "0")
    assert send("PUT", target, b"")[1]["x-presign-deny"] == "USED"


def test_envoy_head_request_gets_no_body(daemon):
    url = issue(daemon, "HEAD", "bkt", "envoy/head.bin")["url"]
    status, headers, body = send("HEAD", base(daemon) + "/v1/authorize/ext" + origin_form(url))
    assert (status, body) == (200, b"")


def test_signed_content_type_comes_from_the_original_headers(daemon):
    record = issue(daemon, "PUT", "bkt", "typed/x.json", "CONTENT-TYPE", "application/json", "USES", "2")
    status, headers, _ = nginx_style(daemon, "PUT", record["url"])
    assert (status, headers["x-presign-deny"]) == (403, "BADSIG")
    status, headers, _ = nginx_style(daemon, "PUT", record["url"], **{"Content-Type": "text/plain"})
    assert (status, headers["x-presign-deny"]) == (403, "BADSIG")
    assert nginx_style(daemon, "PUT", record["url"], **{"Content-Type": "application/json"})[0] == 200


def test_signed_content_length_from_x_original_content_length(daemon):
    url = issue(daemon, "PUT", "bkt", "sized/x.bin", "CONTENT-LENGTH", "5", "USES", "2")["url"]
    assert nginx_style(daemon, "PUT", url, **{"X-Original-Content-Length": "6"})[1]["x-presign-deny"] == "BADSIG"
    assert nginx_style(daemon, "PUT", url, **{"X-Original-Content-Length": "5"})[0] == 200


@pytest.mark.parametrize("headers, code", [
    ({}, "ERR"),
    ({"X-Original-Method": "GET"}, "ERR"),
    ({"X-Original-Method": "POST", "X-Original-URI": "/b/k?X-Amz-Signature=00"}, "MISMATCH"),
    ({"X-Original-Method": "GET", "X-Original-URI": "/b/k?X-Amz-Signature=00"}, "BADSIG"),
    # A bare token id would skip verification: only URLs are accepted here.
    ({"X-Original-Method": "GET", "X-Original-URI": "AAAAAAAAAAAAAAAAAAAAAA"}, "BADSIG"),
])
def test_malformed_questions_are_denied_with_403(daemon, headers, code):
    status, answer, _ = send("GET", base(daemon) + "/v1/authorize", headers=headers)
    assert (status, answer["x-presign-deny"]) == (403, code)


def test_tampered_and_revoked_urls(daemon):
    url = issue(daemon, "GET", "bkt", "tamper/x", "USES", "3")["url"]
    assert nginx_style(daemon, "GET", tamper_signature(url))[1]["x-presign-deny"] == "BADSIG"
    assert daemon.client("admin").execute_command("REVOKE", origin_form(url)) == 1
    assert nginx_style(daemon, "GET", url)[1]["x-presign-deny"] == "REVOKED"


def test_reserve_commit_release_over_http(daemon):
    url = issue(daemon, "PUT", "bkt", "lease/x.bin")["url"]
    status, headers, _ = nginx_style(daemon, "PUT", url, mode="reserve")
    assert status == 200
    lease = headers["x-presign-lease"]
    assert headers["x-presign-id"] == lease.split(".")[0]
    # While the lease holds the only use, another request is refused.
    assert nginx_style(daemon, "PUT", url)[1]["x-presign-deny"] == "RESERVED"
    assert send("POST", base(daemon) + "/v1/release", headers={"X-Presign-Lease": lease})[0] == 200
    status, headers, _ = send("POST", base(daemon) + "/v1/release", headers={"X-Presign-Lease": lease})
    assert (status, headers["x-presign-deny"]) == (403, "UNKNOWN")

    # Envoy's form: the mode travels in a header, since the query is the original request's.
    status, headers, _ = send("PUT", base(daemon) + "/v1/authorize/ext" + origin_form(url), b"",
                              headers={"X-Presign-Mode": "reserve", "X-Presign-Lease-Ms": "30000"})
    assert status == 200
    assert send("POST", base(daemon) + "/v1/commit", headers={"X-Presign-Lease": headers["x-presign-lease"]})[0] == 200
    assert nginx_style(daemon, "PUT", url, mode="reserve")[1]["x-presign-deny"] == "USED"
    assert send("POST", base(daemon) + "/v1/commit")[1]["x-presign-deny"] == "ERR"


def test_routes_methods_health_and_readiness(daemon):
    assert send("GET", base(daemon) + "/nowhere")[0] == 404
    assert send("PUT", base(daemon) + "/v1/authorize", b"")[0] == 405
    assert send("GET", base(daemon) + "/v1/commit")[0] == 405
    assert send("GET", base(daemon) + "/healthz")[:3:2] == (200, b"ok\n")
    assert send("GET", base(daemon) + "/readyz")[:3:2] == (200, b"ready\n")


def test_readyz_loads_a_missing_function_library(redis_server):
    d = Presignd(redis_server, CLIENTS, PROFILE, http=True)
    try:
        assert send("GET", base(d) + "/readyz")[0] == 200
        # Redis lost the library (restarted empty, FUNCTION FLUSH): the probe itself loads it again,
        # or no instance would be ready, get traffic, and so make the token call that loads it.
        library = function_library_name()
        assert redis_server.cli("FUNCTION", "DELETE", library) == "OK"
        assert send("GET", base(d) + "/readyz")[0] == 200
        assert library in redis_server.cli("FUNCTION", "LIST", "LIBRARYNAME", library)
        url = issue(d, "GET", "bkt", "ready/x")["url"]
        assert nginx_style(d, "GET", url)[0] == 200
    finally:
        d.stop()


def test_redis_down_fails_closed():
    redis = RedisProc()
    d = Presignd(redis, CLIENTS, PROFILE, http=True)
    try:
        url = issue(d, "GET", "bkt", "down/x")["url"]
        redis.stop()
        status, headers, _ = nginx_style(d, "GET", url)
        assert (status, headers["x-presign-deny"]) == (403, "UNAVAILABLE")
        assert send("GET", base(d) + "/readyz")[0] == 503
        assert send("GET", base(d) + "/healthz")[0] == 200
    finally:
        d.stop()


def test_metrics_in_prometheus_text_format(daemon):
    url = issue(daemon, "GET", "bkt", "metrics/x")["url"]
    nginx_style(daemon, "GET", url)
    nginx_style(daemon, "GET", url)
    status, headers, body = send("GET", base(daemon) + "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    lines = text.splitlines()
    assert "# TYPE presignd_commands_total counter" in lines
    assert any(l.startswith('presignd_commands_total{command="consume",outcome="OK"} ') for l in lines)
    assert any(l.startswith('presignd_commands_total{command="consume",outcome="USED"} ') for l in lines)
    assert any(l.startswith('presignd_http_requests_total{endpoint="authorize",outcome="USED"} ') for l in lines)
    assert "# TYPE presignd_http_request_duration_seconds histogram" in lines
    buckets = [l for l in lines if l.startswith('presignd_http_request_duration_seconds_bucket{endpoint="authorize"')]
    counts = [int(l.rsplit(" ", 1)[1]) for l in buckets]
    assert counts == sorted(counts) and buckets[-1].startswith(
        'presignd_http_request_duration_seconds_bucket{endpoint="authorize",le="+Inf"}')
    count = next(l for l in lines if l.startswith('presignd_http_request_duration_seconds_count{endpoint="authorize"}'))
    assert int(count.rsplit(" ", 1)[1]) == counts[-1]
    for name in ("presignd_http_connections", "presignd_redis_round_trips_total", "presignd_redis_in_flight",
                 "presignd_line_connections", "presignd_http_connections_accepted_total"):
        assert any(l.startswith(name + " ") for l in lines), name
    # Nothing secret: no signature, no URL.
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    assert signature not in text and "X-Amz" not in text


def test_keep_alive_serves_several_requests_on_one_connection(daemon):
    conn = http.client.HTTPConnection("127.0.0.1", daemon.http_port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"ok\n")
        sock = conn.sock
        assert sock is not None  # the same socket carried all three
    finally:
        conn.close()


def test_oversized_headers_are_refused_and_the_connection_closed(daemon):
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        data = b""
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            # presignd closed with the rest of the oversized header unread, so the kernel reset
            # the connection, possibly before the 400 arrived.
            pass
    assert data == b"" or data.startswith(b"HTTP/1.1 403")
    assert b"ok" not in data
    assert send("GET", base(daemon) + "/healthz")[0] == 200


@pytest.mark.parametrize("request_bytes", [
    b"GET /v1/authorize HTTP/1.1\r\nHost: x\r\nX-Original-Method GET\r\n\r\n",  # a header without a colon
    b"G\x01T /v1/authorize HTTP/1.1\r\nHost: x\r\n\r\n",  # a method that is not a token
    b"GET /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: zero\r\n\r\n",
])
def test_unparsable_request_is_a_counted_logged_denial(daemon, request_bytes):
    """What NIO's parser refuses is answered like every other refusal (403, X-Presign-Deny: ERR,
    no-store), logged with its reason but not its bytes, counted, and the connection closed."""
    before = daemon.log_text().count("http request refused")
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        sock.sendall(request_bytes)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 403 Forbidden"
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
    assert headers["x-presign-deny"] == "ERR"
    assert headers["cache-control"] == "no-store"
    assert headers["connection"] == "close"
    assert body.startswith(b"ERR ") and len(body) == int(headers["content-length"])
    wait_for(lambda: daemon.log_text().count("http request refused") > before, 10, "the refusal's log line")
    line = [l for l in daemon.log_text().splitlines() if "http request refused" in l][-1]
    assert "outcome=ERR" in line and "reason=" in line and "client=http:127.0.0.1 " in line
    assert "X-Original" not in line and "zero" not in line
    metrics = send("GET", base(daemon) + "/metrics")[2].decode()
    assert 'presignd_http_requests_total{endpoint="unparsed",outcome="ERR"} ' in metrics


def read_all(sock):
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def refusals(d):
    metrics = send("GET", base(d) + "/metrics")[2].decode()
    prefix = 'presignd_http_requests_total{endpoint="unparsed",outcome="ERR"} '
    return sum(int(float(l[len(prefix):])) for l in metrics.splitlines() if l.startswith(prefix))


@pytest.mark.parametrize("garbage", [2000, 8000, 64000])
def test_garbage_after_an_authorize_gets_its_answer_then_one_refusal(daemon, garbage):
    """The garbage fails to parse while the authorize waits for Redis, and more of it arrives
    after: the authorize is still answered (its use is spent), then one 403 ERR, then the close.
    The garbage's bytes reach no log, not even as the decoder's hex dump at debug level."""
    issued = issue(daemon, "GET", "bkt", f"garbage/{garbage}")
    marker = b"ZQXMARKER" * (garbage // 9)
    request = (f"GET /v1/authorize HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\n"
               f"X-Original-URI: {origin_form(issued['url'])}\r\n\r\n").encode()
    before = refusals(daemon)
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        sock.sendall(request + marker)
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200]
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 1 and data.count(b"HTTP/1.1 403 Forbidden\r\n") == 1
    assert b"x-presign-deny: ERR" in data
    used = send("GET", base(daemon) + "/v1/authorize",
                headers={"X-Original-Method": "GET", "X-Original-URI": origin_form(issued["url"])})
    assert used[1].get("x-presign-deny") == "USED"  # its one use went to the first request
    assert refusals(daemon) == before + 1
    log = daemon.log_text()
    assert "ZQXMARKER" not in log and "5a51584d41524b4552" not in log.lower()


def test_connect_is_refused_and_the_connection_closed(daemon):
    """After CONNECT the parser takes the stream for a tunnel: the answer closes the connection
    instead of holding it until the idle timeout."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        sock.sendall(b"CONNECT s3.example.com:443 HTTP/1.1\r\nHost: s3.example.com:443\r\n\r\n")
        data = read_all(sock)
    assert data.startswith((b"HTTP/1.1 404", b"HTTP/1.1 405")), data[:100]
    assert b"connection: close" in data.lower()
    assert time.monotonic() - started < 5


def test_a_version_the_parser_reports_twice_is_one_refusal(daemon):
    before = refusals(daemon)
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n")
        data = read_all(sock)
    assert data.count(b"HTTP/1.1 403 Forbidden") == 1
    assert refusals(daemon) == before + 1


def test_a_client_leaving_mid_request_is_not_a_refusal(daemon):
    before = refusals(daemon)
    lines = daemon.log_text().count("http request refused")
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: abc")
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock) == b""
    assert send("GET", base(daemon) + "/healthz")[0] == 200
    assert refusals(daemon) == before
    assert daemon.log_text().count("http request refused") == lines


def test_request_body_is_ignored_and_logs_hold_no_signature(daemon):
    issued = issue(daemon, "PUT", "bkt", "body/x")
    url = issued["url"]
    status, _, _ = send("POST", base(daemon) + "/v1/authorize", b"z" * 100000,
                        headers={"X-Original-Method": "PUT", "X-Original-URI": origin_form(url)})
    assert status == 200
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    # The token's audit lines (issue, then consume) are the last this request writes.
    wait_for(lambda: daemon.log_text().count(issued["id"]) >= 2, 10, "the consume's audit line")
    log = daemon.log_text()
    assert signature not in log and "X-Amz-Credential" not in log


def check(d, token_id) -> dict:
    record = d.client("admin").execute_command("CHECK", token_id)
    # A map under RESP3, a flat list of names and values under RESP2.
    return record if isinstance(record, dict) else dict(zip(record[::2], record[1::2]))


def uses_left(d, token_id):
    return int(check(d, token_id)[b"uses_left"])


def test_client_headers_passed_on_by_a_gateway_cannot_choose_the_mode_or_the_request(daemon):
    # Traefik passes the client's headers on to presignd next to its own X-Forwarded-*.
    record = issue(daemon, "GET", "bkt", "traefik/once.txt")
    traefik = {"X-Forwarded-Method": "GET", "X-Forwarded-Uri": origin_form(record["url"])}
    # A 1 ms lease would hand the use back at once: a URL good for ever. Refused, nothing spent.
    for extra in ({"X-Presign-Mode": "reserve", "X-Presign-Lease-Ms": "1"}, {"X-Presign-Mode": "consume"}):
        status, headers, body = send("GET", base(daemon) + "/v1/authorize", headers={**traefik, **extra})
        assert (status, headers["x-presign-deny"]) == (403, "ERR"), body
        assert b"X-Presign-" in body
    assert uses_left(daemon, record["id"]) == 1
    # A spent URL described by Traefik, a fresh decoy in X-Original-* from the client: refused,
    # and the decoy's use is not spent either.
    assert send("GET", base(daemon) + "/v1/authorize", headers=traefik)[0] == 200
    decoy = issue(daemon, "GET", "bkt", "traefik/decoy.txt")
    status, headers, body = send("GET", base(daemon) + "/v1/authorize", headers={
        **traefik, "X-Original-Method": "GET", "X-Original-URI": origin_form(decoy["url"])})
    assert (status, headers["x-presign-deny"]) == (403, "ERR")
    assert b"both X-Original-* and X-Forwarded-*" in body
    assert uses_left(daemon, decoy["id"]) == 1
    # A header that says which request is meant, twice: refused.
    conn = http.client.HTTPConnection("127.0.0.1", daemon.http_port, timeout=10)
    try:
        conn.putrequest("GET", "/v1/authorize")
        conn.putheader("X-Original-Method", "GET")
        conn.putheader("X-Original-URI", origin_form(decoy["url"]))
        conn.putheader("X-Original-URI", origin_form(record["url"]))
        conn.endheaders()
        response = conn.getresponse()
        assert (response.status, response.getheader("x-presign-deny")) == (403, "ERR")
        assert b"X-Original-URI is repeated" in response.read()
    finally:
        conn.close()
    assert uses_left(daemon, decoy["id"]) == 1


def test_reserve_lease_length_comes_from_the_query(daemon):
    record = issue(daemon, "PUT", "bkt", "lease/query.bin")
    status, _, _ = send("GET", base(daemon) + "/v1/authorize?mode=reserve&lease_ms=300",
                        headers={"X-Original-Method": "PUT", "X-Original-URI": origin_form(record["url"])})
    assert status == 200
    assert uses_left(daemon, record["id"]) == 0  # held by the lease
    wait_for(lambda: uses_left(daemon, record["id"]) == 1, 5, "the 300 ms lease to run out")


def test_unsigned_amz_headers_are_refused_before_a_use_is_spent(daemon):
    record = issue(daemon, "PUT", "bkt", "amz/upload.bin", "USES", "2")
    # On S3 a PUT with x-amz-copy-source is a copy of another object; S3 wants every x-amz-*
    # header signed, and so does presignd.
    for name, value in (("x-amz-copy-source", "/bkt/secret"), ("X-Amz-Acl", "public-read")):
        status, headers, body = nginx_style(daemon, "PUT", record["url"], **{name: value})
        assert (status, headers["x-presign-deny"]) == (403, "BADSIG"), body
        assert name.lower().encode() in body
    assert uses_left(daemon, record["id"]) == 2
    # x-amz-content-sha256 is the one S3 takes unsigned on a presigned request.
    assert nginx_style(daemon, "PUT", record["url"], **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})[0] == 200
    assert uses_left(daemon, record["id"]) == 1


def test_methods_are_case_sensitive(daemon):
    record = issue(daemon, "GET", "bkt", "case/x.txt")
    status, headers, _ = nginx_style(daemon, "get", record["url"])
    assert (status, headers["x-presign-deny"]) == (403, "MISMATCH")
    assert uses_left(daemon, record["id"]) == 1
    assert nginx_style(daemon, "GET", record["url"])[0] == 200


def test_refused_questions_are_audited_and_counted(daemon):
    status, headers, _ = send("GET", base(daemon) + "/v1/authorize?mode=sometimes",
                              headers={"X-Original-Method": "GET", "X-Original-URI": "/bkt/k?q"})
    assert (status, headers["x-presign-deny"]) == (403, "ERR")
    wait_for(lambda: "mode must be consume or reserve" in daemon.log_text(), 10, "the refusal's audit line")
    line = next(l for l in daemon.log_text().splitlines() if "mode must be consume or reserve" in l)
    assert "audit=consume" in line and "outcome=ERR" in line and "client.id=http:127.0.0.1" in line
    metrics = send("GET", base(daemon) + "/metrics")[2].decode()
    assert 'presignd_commands_total{command="consume",outcome="ERR"}' in metrics


def test_a_request_whose_body_stops_coming_is_closed_at_the_idle_timeout(redis_server):
    d = Presignd(redis_server, CLIENTS, PROFILE, http=True, limits={"idle_timeout_s": 1})
    try:
        with socket.create_connection(("127.0.0.1", d.http_port), timeout=10) as sock:
            sock.sendall(b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"z" * 1000)
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by presignd, not by this timeout
            assert time.monotonic() - started < 5
    finally:
        d.stop()


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_request_dripping_in_is_closed_once_the_idle_timeout_has_passed(redis_server, part):
    # A byte every half second never lets the idle timeout (1 s) pass between two reads; the whole
    # request must still arrive within it.
    d = Presignd(redis_server, CLIENTS, PROFILE, http=True, limits={"idle_timeout_s": 1})
    try:
        with socket.create_connection(("127.0.0.1", d.http_port), timeout=10) as sock:
            if part == "body":
                sock.sendall(b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            else:
                sock.sendall(b"GET /v1/authorize HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            sock.settimeout(0.5)
            closed = False
            while time.monotonic() - started < 5 and not closed:
                try:
                    sock.sendall(b"z" if part == "body" else b"X")
                    closed = sock.recv(1024) == b""
                except socket.timeout:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
            assert closed, "a dripping request held its connection for 5 s"
            assert time.monotonic() - started < 4  # the deadline is 1 s; the rest is slack for a busy machine
        # Requests that each arrive in time keep a kept-alive connection past the timeout: the
        # deadline starts again after every answer (five, 0.4 s apart: 2 s on a 1 s timeout).
        with socket.create_connection(("127.0.0.1", d.http_port), timeout=10) as sock:
            for _ in range(5):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
                time.sleep(0.4)
    finally:
        d.stop()


def test_pipelining_without_reading_the_answers_does_not_grow_memory(daemon):
    before = daemon.rss_kib()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 100
    sent = 0
    with socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10) as sock:
        sock.setblocking(False)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                sent += sock.send(request)
            except BlockingIOError:
                time.sleep(0.01)
        grown = daemon.rss_kib() - before
    # Without back-pressure presignd read on and queued answers: hundreds of MB in 4 s.
    print(f"pipelined {sent} bytes of requests without reading: RSS +{grown} KiB")
    assert grown < 32 * 1024
    assert send("GET", base(daemon) + "/healthz")[0] == 200
