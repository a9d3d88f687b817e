"""presignd's signer against a real S3 server that verifies SigV4 (SeaweedFS with identities):
URLs made by `presignd presign` upload and download real bytes, and a tampered URL is refused,
which proves the server checks signatures at all."""

import os
import subprocess

import pytest

from gateway import send as send_http, tamper_signature
from support import SeaweedFS, presignd_binary

BUCKET = "presignd-signing"


@pytest.fixture(scope="module")
def s3(seaweedfs):
    seaweedfs.create_bucket(BUCKET)
    return seaweedfs


def presign(s3, method, key, *extra):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=SeaweedFS.ACCESS_KEY,
               AWS_SECRET_ACCESS_KEY=SeaweedFS.SECRET_KEY)
    env.pop("AWS_SESSION_TOKEN", None)
    out = subprocess.run(
        [presignd_binary(), "presign", method, BUCKET, key, "--endpoint", s3.endpoint,
         "--region", SeaweedFS.REGION, "--expires", "300", *extra],
        env=env, capture_output=True, text=True, check=True)
    url = out.stdout.strip()
    assert "\n" not in url
    return url


def send(method, url, body=None, headers=None):
    """Sends the URL's path and query byte for byte; returns status and body."""
    status, _, data = send_http(method, url, body, headers)
    return status, data


@pytest.mark.parametrize("key", [
    "plain/object.txt",
    "spaces and unicode/déjà vu 日本.txt",
    "odd+chars=!'()*,;:@$&[]~/x.bin",
])
def test_put_then_get_returns_the_same_bytes(s3, key):
    body = os.urandom(4096) + key.encode()
    status, _ = send("PUT", presign(s3, "PUT", key), body)
    assert status == 200
    status, data = send("GET", presign(s3, "GET", key))
    assert status == 200
    assert data == body


def test_tampered_url_is_refused_by_the_server(s3):
    key = "tamper/target.txt"
    assert send("PUT", presign(s3, "PUT", key), b"original")[0] == 200
    status, _ = send("PUT", tamper_signature(presign(s3, "PUT", key)), b"forged")
    assert status == 403
    status, data = send("GET", presign(s3, "GET", key))
    assert (status, data) == (200, b"original")
    assert send("GET", tamper_signature(presign(s3, "GET", key)))[0] == 403


def test_signed_content_type_must_be_sent(s3):
    key = "typed/page.html"
    url = presign(s3, "PUT", key, "--content-type", "text/html; charset=utf-8")
    assert send("PUT", url, b"<p>x</p>", {"Content-Type": "text/plain"})[0] == 403
    assert send("PUT", url, b"<p>x</p>", {"Content-Type": "text/html; charset=utf-8"})[0] == 200


def test_head_delete_and_a_signed_response_parameter(s3):
    key = "lifecycle/file.txt"
    assert send("PUT", presign(s3, "PUT", key), b"abc")[0] == 200
    assert send("HEAD", presign(s3, "HEAD", key))[0] == 200
    # A GET URL is not a HEAD URL: the method is signed.
    assert send("HEAD", presign(s3, "GET", key))[0] == 403
    url = presign(s3, "GET", key, "--param", 'response-content-disposition=attachment; filename="f.txt"')
    assert send("GET", url) == (200, b"abc")
    assert send("DELETE", presign(s3, "DELETE", key))[0] == 204
    assert send("GET", presign(s3, "GET", key))[0] == 404


def test_verify_accepts_the_url_and_rejects_a_tampered_one(s3):
    url = presign(s3, "GET", "verify/me.txt")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=SeaweedFS.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SeaweedFS.SECRET_KEY)
    ok = subprocess.run([presignd_binary(), "verify", "GET", url], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([presignd_binary(), "verify", "GET", tamper_signature(url)], env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert SeaweedFS.SECRET_KEY not in bad.stdout + bad.stderr
