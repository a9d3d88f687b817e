"""Enforcement at the gateway with real parts: Debian's nginx (configured from
deploy/nginx/presignd.conf) asks presignd before forwarding each request to SeaweedFS, which
verifies SigV4 itself. Issued URLs point at nginx; their signature is for SeaweedFS's host."""

import concurrent.futures
import os
import time

import pytest

from gateway import issue, origin_form, send, tamper_signature
from support import Nginx, Presignd, RedisProc, SeaweedFS, free_port, wait_for

BUCKET = "presignd-gateway"
CLIENTS = {
    "issuer": {"secret": "issuer-secret-0123456789abcdef01", "roles": ["issue"]},
    "admin": {"secret": "admin-secret-0123456789abcdef0123", "roles": ["admin"]},
}


def profile(s3: SeaweedFS, gateway_port: int) -> dict:
    return {
        "name": "seaweed", "region": SeaweedFS.REGION, "endpoint": s3.endpoint, "addressing": "path",
        "public_base_url": f"http://127.0.0.1:{gateway_port}",
        "access_key_id": SeaweedFS.ACCESS_KEY, "secret_access_key": SeaweedFS.SECRET_KEY,
    }


class Stack:
    """SeaweedFS, Redis, presignd and nginx in front, wired as deploy/ describes."""

    def __init__(self, s3: SeaweedFS):
        self.s3 = s3
        s3.create_bucket(BUCKET)
        self.redis = RedisProc()
        gateway_port = free_port()
        self.presignd = Presignd(self.redis, CLIENTS, profile(s3, gateway_port), http=True)
        self.nginx = Nginx({
            "PRESIGND_HTTP": f"127.0.0.1:{self.presignd.http_port}",
            "S3_UPSTREAM": f"127.0.0.1:{s3.s3_port}",
            "S3_HOST": f"127.0.0.1:{s3.s3_port}",
        }, port=gateway_port)

    def issue(self, method, key, *options):
        record = issue(self.presignd, method, BUCKET, key, *options)
        assert record["url"].startswith(self.nginx.base_url + "/"), "issued URLs must point at the gateway"
        return record["url"]

    def read(self, key):
        """The object's bytes, fetched with a fresh one-time GET URL through the gateway."""
        status, _, data = send("GET", self.issue("GET", key))
        return status, data

    def stop(self):
        self.nginx.stop()
        self.presignd.stop()
        self.redis.stop()


def logged_puts(stack, key, count):
    """nginx's access log lines of PUTs of `key`, once there are `count`: nginx writes a line after
    sending the answer, so it may come a moment after the client has it."""
    def lines():
        return [line for line in stack.nginx.access_log() if line.startswith("PUT /" + BUCKET + "/" + key + " ")]
    wait_for(lambda: len(lines()) >= count, 5, f"{count} access log lines for {key}")
    return lines()


@pytest.fixture(scope="module")
def stack(seaweedfs):
    s = Stack(seaweedfs)
    yield s
    s.stop()


@pytest.mark.parametrize("key", ["one-time/plain.bin", "one-time/spaces and ünïcode 日本.txt"])
def test_one_time_put_uploads_once(stack, key):
    url = stack.issue("PUT", key)
    body = os.urandom(8192)
    status, _, _ = send("PUT", url, body)
    assert status == 200
    assert stack.read(key) == (200, body)

    status, headers, _ = send("PUT", url, b"second upload")
    assert status == 403
    assert headers.get("x-presign-deny") == "USED"
    assert stack.read(key) == (200, body)


def test_twenty_concurrent_puts_of_one_url_one_wins(stack):
    key = "race/one.bin"
    url = stack.issue("PUT", key)
    bodies = [f"attempt {i}".encode() * 100 for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda body: send("PUT", url, body), bodies))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [403] * 19
    winner = next(body for body, (status, _, _) in zip(bodies, results) if status == 200)
    assert stack.read(key) == (200, winner)


def test_identical_issues_get_their_own_one_time_urls_which_s3_accepts(stack):
    # Many single-use links to one object in one second: each later one is signed minutes in the
    # past and valid as much longer; SeaweedFS, which checks SigV4 itself, takes every one once.
    key = "popular/file.bin"
    body = os.urandom(2000)
    assert send("PUT", stack.issue("PUT", key), body)[0] == 200
    urls = [stack.issue("GET", key, "TTL", "900") for _ in range(30)]
    assert len(set(urls)) == 30
    back_dated = [url for url in urls if "X-Amz-Expires=900&" not in url]
    assert len(back_dated) >= 20, urls
    for url in urls:
        assert send("GET", url)[:3:2] == (200, body)
        status, headers, _ = send("GET", url)
        assert (status, headers.get("x-presign-deny")) == (403, "USED")


def test_revoked_url_is_refused(stack):
    url = stack.issue("PUT", "revoked/x.bin", "USES", "5")
    assert stack.presignd.client("admin").execute_command("REVOKE", origin_form(url)) == 1
    status, headers, _ = send("PUT", url, b"after revoke")
    assert (status, headers.get("x-presign-deny")) == (403, "REVOKED")
    assert stack.read("revoked/x.bin")[0] == 404


def test_tampered_url_is_refused_by_presignd_and_never_reaches_s3(stack):
    key = "tampered/target.bin"
    assert send("PUT", stack.issue("PUT", key), b"original")[0] == 200
    forged = tamper_signature(stack.issue("PUT", key, "USES", "3"))
    status, headers, _ = send("PUT", forged, b"forged")
    assert (status, headers.get("x-presign-deny")) == (403, "BADSIG")
    # nginx logged the request with no upstream: it was never forwarded to SeaweedFS.
    lines = logged_puts(stack, key, 2)
    assert lines[-1].endswith(" 403 upstream=-"), lines
    assert all(f":{stack.s3.s3_port}" not in line for line in lines if " 403 " in line)
    assert stack.read(key) == (200, b"original")


def test_expired_url_is_refused(stack):
    url = stack.issue("GET", "expired/x.bin", "TTL", "1")
    time.sleep(2.1)  # X-Amz-Expires=1 counts whole seconds from X-Amz-Date
    status, headers, _ = send("GET", url)
    assert (status, headers.get("x-presign-deny")) == (403, "EXPIRED")


def test_three_use_get_downloads_three_times(stack):
    key = "three/x.bin"
    body = os.urandom(1000)
    assert send("PUT", stack.issue("PUT", key), body)[0] == 200
    url = stack.issue("GET", key, "USES", "3")
    for _ in range(3):
        status, _, data = send("GET", url)
        assert (status, data) == (200, body)
    status, headers, _ = send("GET", url)
    assert (status, headers.get("x-presign-deny")) == (403, "USED")


def test_client_headers_cannot_steer_presignd_through_nginx(stack):
    # nginx's auth subrequest carries the client's headers: those that would choose the mode, a
    # 1 ms lease (a use handed back at once) or another request must not reach presignd.
    key = "steer/x.bin"
    assert send("PUT", stack.issue("PUT", key), b"data")[0] == 200
    url = stack.issue("GET", key)
    decoy = stack.issue("GET", key)
    steering = {"X-Presign-Mode": "reserve", "X-Presign-Lease-Ms": "1",
                "X-Forwarded-Method": "GET", "X-Forwarded-Uri": origin_form(decoy)}
    status, _, data = send("GET", url, headers=steering)
    assert (status, data) == (200, b"data")
    time.sleep(0.05)
    status, headers, _ = send("GET", url, headers=steering)
    assert (status, headers.get("x-presign-deny")) == (403, "USED")
    assert send("GET", decoy)[0] == 200  # the decoy was never touched


def test_unsigned_amz_header_is_refused_and_never_reaches_s3(stack):
    key = "amz/target.bin"
    url = stack.issue("PUT", key, "USES", "2")
    # On S3 this PUT would copy another object; presignd refuses it as S3 would, use unspent.
    status, headers, _ = send("PUT", url, b"x", headers={"x-amz-copy-source": f"/{BUCKET}/three/x.bin"})
    assert (status, headers.get("x-presign-deny")) == (403, "BADSIG")
    lines = logged_puts(stack, key, 1)
    assert lines[-1].endswith(" 403 upstream=-"), lines
    assert send("PUT", url, b"one")[0] == 200
    assert send("PUT", url, b"two")[0] == 200


def test_get_url_used_as_put_is_a_mismatch(stack):
    url = stack.issue("GET", "mismatch/x.bin", "USES", "2")
    status, headers, _ = send("PUT", url, b"x")
    assert (status, headers.get("x-presign-deny")) == (403, "MISMATCH")


# Reserve mode: nginx's auth_request cannot report how the upstream request ended, so it
# consumes. A gateway that can report (here the test itself, as custom gateway code would)
# reserves, forwards, and commits on success or releases on failure.

@pytest.fixture(scope="module")
def own_s3():
    """A SeaweedFS of this module's own, since the test stops and restarts it."""
    server = SeaweedFS().start()
    yield server
    server.stop()


def test_reserve_releases_the_use_when_s3_is_down_and_commits_once_it_is_back(own_s3):
    own_s3.create_bucket(BUCKET)
    redis = RedisProc()
    presignd = Presignd(redis, CLIENTS, profile(own_s3, free_port()), http=True)
    try:
        authorize = f"http://127.0.0.1:{presignd.http_port}"
        url = issue(presignd, "PUT", BUCKET, "reserve/x.bin")["url"]
        target = origin_form(url)
        to_s3 = own_s3.endpoint + target
        original = {"X-Original-Method": "PUT", "X-Original-URI": target}

        def reserve():
            return send("POST", authorize + "/v1/authorize?mode=reserve", headers=original)

        def forward(body):
            try:
                return send("PUT", to_s3, body)[0]
            except OSError:
                return None  # connection refused: the upstream is down

        own_s3.halt()
        status, headers, _ = reserve()
        assert status == 200
        lease = headers["x-presign-lease"]
        assert forward(b"while down") is None
        assert send("POST", authorize + "/v1/release", headers={"X-Presign-Lease": lease})[0] == 200

        own_s3.start()
        status, headers, _ = reserve()
        assert status == 200
        assert forward(b"after restart") == 200
        status, _, _ = send("POST", authorize + "/v1/commit", headers={"X-Presign-Lease": headers["x-presign-lease"]})
        assert status == 200

        status, headers, _ = reserve()
        assert (status, headers.get("x-presign-deny")) == (403, "USED")
        get_url = own_s3.endpoint + origin_form(issue(presignd, "GET", BUCKET, "reserve/x.bin")["url"])
        assert send("GET", get_url)[2] == b"after restart"
    finally:
        presignd.stop()
        redis.stop()
