"""presignctl against a real presignd (serve with clients and roles, and dev mode) on a real
redis-server: every subcommand, its output and its exit code (0 ok, 1 denied, 2 error)."""

import json
import os
import subprocess
import time

import pytest

from support import Presignd, RedisProc, free_port, presignctl_binary, start_dev, stop_process, wait_for

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDCTL00001", "secret_access_key": "ctl-e2e-secret-key/for+tests",
}
CLIENTS = {
    "uploader": {"secret": "uploader-secret-ctl-0123456789abcd", "roles": ["issue"], "buckets": ["bucket-a"]},
    "gateway": {"secret": "gateway-secret-ctl-0123456789abcde", "roles": ["gateway"]},
    "admin": {"secret": "admin-secret-ctl-0123456789abcdef01", "roles": ["admin"]},
}


@pytest.fixture(scope="module")
def daemon(redis_server):
    d = Presignd(redis_server, CLIENTS, PROFILE)
    yield d
    d.stop()


def ctl(d, cid, *args, env_secret=True, timeout=30):
    """Runs presignctl against `d` as `cid`, the secret passed through the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESIGND_")}
    if cid:
        env["PRESIGND_CLIENT_ID"] = cid
        if env_secret:
            env["PRESIGND_SECRET"] = CLIENTS[cid]["secret"]
    return subprocess.run([presignctl_binary(), *args, "--port", str(d.port)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def issued(d, *args):
    out = ctl(d, "uploader", "issue", *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_help_documents_exit_codes_and_every_subcommand():
    out = subprocess.run([presignctl_binary(), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for word in ("EXIT CODES", "PRESIGND_SECRET", "issue", "consume", "check", "revoke", "watch", "stats"):
        assert word in out.stdout
    for sub in ("issue", "consume", "check", "revoke", "watch", "stats"):
        help_text = subprocess.run([presignctl_binary(), sub, "--help"], capture_output=True, text=True)
        assert help_text.returncode == 0 and "EXAMPLE" in help_text.stdout, sub


def test_issue_text_and_json(daemon):
    out = ctl(daemon, "uploader", "issue", "put", "bucket-a", "dir/a b.png", "--ttl", "600", "--uses", "2",
              "--content-type", "image/png", "--tag", "t-issue", "--param", "x-id=7")
    assert out.returncode == 0, out.stderr
    fields = dict(line.split(None, 1) for line in out.stdout.splitlines())
    assert len(fields["id"]) == 22
    assert fields["url"].startswith("http://127.0.0.1:8080/bucket-a/dir/a%20b.png?")
    assert fields["method"] == "PUT" and fields["uses"] == "2"
    assert fields["header"].lower() == "content-type: image/png"
    record = issued(daemon, "GET", "bucket-a", "k1")
    assert record["method"] == "GET" and record["uses"] == 1 and record["expires_at"] > time.time()


def test_consume_until_used_then_denied(daemon):
    record = issued(daemon, "GET", "bucket-a", "consume/obj", "--uses", "2")
    first = ctl(daemon, "gateway", "consume", record["id"], "--method", "get")
    assert (first.returncode, first.stdout.strip()) == (0, "allowed: 1 use left")
    by_url = ctl(daemon, "gateway", "consume", record["url"], "--json")
    assert by_url.returncode == 0 and json.loads(by_url.stdout) == {"ok": True, "allowed": True, "uses_left": 0}
    used = ctl(daemon, "gateway", "consume", record["id"])
    assert used.returncode == 1 and used.stderr.startswith("denied: USED")
    used_json = ctl(daemon, "gateway", "consume", record["id"], "--json")
    assert used_json.returncode == 1 and json.loads(used_json.stdout)["code"] == "USED"


def test_consume_denials(daemon):
    record = issued(daemon, "GET", "bucket-a", "mismatch/obj")
    mismatch = ctl(daemon, "gateway", "consume", record["id"], "--method", "PUT")
    assert mismatch.returncode == 1 and "MISMATCH" in mismatch.stderr
    unknown = ctl(daemon, "gateway", "consume", "AAAAAAAAAAAAAAAAAAAAAA")
    assert unknown.returncode == 1 and "UNKNOWN" in unknown.stderr
    tampered = record["url"][:-1] + ("0" if record["url"][-1] != "0" else "1")
    badsig = ctl(daemon, "gateway", "consume", tampered)
    assert badsig.returncode == 1 and "BADSIG" in badsig.stderr


def test_check_active_spent_and_unknown(daemon):
    record = issued(daemon, "GET", "bucket-a", "check/obj", "--tag", "t-check")
    active = ctl(daemon, "admin", "check", record["id"], "--json")
    assert active.returncode == 0
    fields = json.loads(active.stdout)
    assert fields["state"] == "active" and fields["uses_left"] == 1 and fields["tags"] == ["t-check"]
    assert fields["ok"] is True
    assert ctl(daemon, "gateway", "consume", record["id"]).returncode == 0
    spent = ctl(daemon, "admin", "check", record["url"])
    assert spent.returncode == 1
    assert "state       spent" in spent.stdout and "issuer      uploader" in spent.stdout
    unknown = ctl(daemon, "admin", "check", "AAAAAAAAAAAAAAAAAAAAAA")
    assert unknown.returncode == 1 and "UNKNOWN" in unknown.stderr


def test_revoke_by_id_object_and_tag(daemon):
    a = issued(daemon, "GET", "bucket-a", "revoke/one", "--tag", "t-revoke")
    b = issued(daemon, "GET", "bucket-a", "revoke/one")
    c = issued(daemon, "GET", "bucket-a", "revoke/two", "--tag", "t-revoke")
    d = issued(daemon, "GET", "bucket-a", "revoke/three")
    one = ctl(daemon, "admin", "revoke", d["id"])
    assert (one.returncode, one.stdout.strip()) == (0, "revoked")
    again = ctl(daemon, "admin", "revoke", d["id"])
    assert (again.returncode, again.stdout.strip()) == (0, "not active: nothing to revoke")
    by_object = ctl(daemon, "admin", "revoke", "--object", "bucket-a", "revoke/one")
    assert (by_object.returncode, by_object.stdout.strip()) == (0, "revoked 2 tokens")
    by_tag = ctl(daemon, "admin", "revoke", "--tag", "t-revoke", "--json")
    assert by_tag.returncode == 0 and json.loads(by_tag.stdout) == {"ok": True, "revoked": 1}
    for record in (a, b, c, d):
        denied = ctl(daemon, "gateway", "consume", record["id"])
        assert denied.returncode == 1 and "REVOKED" in denied.stderr


def test_stats(daemon):
    text = ctl(daemon, "admin", "stats")
    assert text.returncode == 0 and text.stdout.startswith("# ")
    sections = json.loads(ctl(daemon, "admin", "stats", "--json").stdout)
    assert sections and all(isinstance(fields, dict) for fields in sections.values())
    assert isinstance(sections["server"]["uptime_in_seconds"], int)
    assert isinstance(sections["server"]["presignd_version"], str)


def test_permissions_and_authentication(daemon):
    noperm = ctl(daemon, "uploader", "revoke", "--tag", "x")
    assert noperm.returncode == 1 and "NOPERM" in noperm.stderr
    noauth = ctl(daemon, None, "stats")
    assert noauth.returncode == 1 and "NOAUTH" in noauth.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESIGND_")}
    wrong = subprocess.run([presignctl_binary(), "stats", "--port", str(daemon.port), "--client-id", "admin",
                            "--secret", "not-the-secret"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 1 and "WRONGPASS" in wrong.stderr
    assert "not-the-secret" not in wrong.stdout + wrong.stderr
    missing = ctl(daemon, "admin", "stats", env_secret=False)
    assert missing.returncode == 2 and "no secret" in missing.stderr


def test_secret_file(daemon, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(CLIENTS["admin"]["secret"] + "\n")
    out = subprocess.run([presignctl_binary(), "stats", "--port", str(daemon.port), "--client-id", "admin",
                          "--secret-file", str(secret_file)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_errors_exit_2(tmp_path):
    # A refused connection is said at once, as redis-cli says it (it took the 3 s connect timeout).
    for where in (["--port", str(free_port())], ["--socket", str(tmp_path / "none.sock")]):
        started = time.monotonic()
        unreachable = subprocess.run([presignctl_binary(), "stats", *where], capture_output=True, text=True)
        assert unreachable.returncode == 2 and "cannot reach presignd" in unreachable.stderr
        assert time.monotonic() - started < 2, "an unreachable presignd took the whole connect timeout"
    assert unreachable.stderr.strip().endswith("No such file or directory"), unreachable.stderr
    usage = subprocess.run([presignctl_binary(), "revoke", "--object", "only-bucket"], capture_output=True, text=True)
    assert usage.returncode == 2 and "--object takes two arguments" in usage.stderr
    unknown = subprocess.run([presignctl_binary(), "frobnicate"], capture_output=True, text=True)
    assert unknown.returncode == 2


def test_dev_mode_needs_no_credentials(tmp_path):
    port = free_port()
    log = open(tmp_path / "dev.log", "wb")
    proc = start_dev(port, log)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESIGND_")}

        def run(*args):
            return subprocess.run([presignctl_binary(), *args, "--port", str(port)], capture_output=True, text=True,
                                  env=env, timeout=30)

        assert run("stats").returncode == 0
        record = json.loads(run("issue", "GET", "any-bucket", "dev/key", "--json").stdout)
        assert run("consume", record["id"]).returncode == 0
        assert run("consume", record["id"]).returncode == 1
    finally:
        stop_process(proc)
        log.close()


def watch(port, *args, env=None):
    return subprocess.Popen([presignctl_binary(), "watch", "--port", str(port), "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def read_json_line(proc, timeout=15):
    """The next stdout line of `proc` as JSON (a guard against hanging, not a speed check)."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError("watch printed nothing")
    return json.loads(proc.stdout.readline())


def test_watch_follows_live_events_and_reports_a_gap(redis_server):
    """The transport part of watch, on plain Redis: SUBSCRIBE invalidations, print, survive a kill."""
    proc = watch(redis_server.port)
    try:
        assert read_json_line(proc) == {"notice": "watching", "message": "following live events"}
        event = {"event": "revoked", "id": "AAAAAAAAAAAAAAAAAAAAAA", "bucket": "b", "key": "k", "reason": "",
                 "by": "admin", "at": 1}
        assert redis_server.cli("PUBLISH", "invalidations", json.dumps(event)) == "1"
        assert read_json_line(proc) == {"event": event}
        assert redis_server.cli("CLIENT", "KILL", "TYPE", "pubsub") == "1"
        assert read_json_line(proc)["notice"] == "gap"
        wait_for(lambda: redis_server.cli("PUBLISH", "invalidations", "{}") == "1", 10, "resubscribed watch")
        assert read_json_line(proc) == {"event": {}}
    finally:
        stop_process(proc)


def test_watch_replays_then_follows_and_keeps_the_state_file(daemon, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESIGND_")}
    env.update(PRESIGND_CLIENT_ID="admin", PRESIGND_SECRET=CLIENTS["admin"]["secret"])
    state = tmp_path / "watch.id"
    first = issued(daemon, "GET", "bucket-a", "watch/one")
    proc = watch(daemon.port, "--state-file", str(state), env=env)
    try:
        assert read_json_line(proc)["notice"] == "watching"
        assert ctl(daemon, "admin", "revoke", first["id"]).returncode == 0
        line = read_json_line(proc)
        assert line["event"]["id"] == first["id"] and state.read_text().strip() == line["event_id"]
    finally:
        stop_process(proc)
    second = issued(daemon, "GET", "bucket-a", "watch/two")
    assert ctl(daemon, "admin", "revoke", second["id"]).returncode == 0
    proc = watch(daemon.port, "--state-file", str(state), env=env)
    try:
        replayed = read_json_line(proc)
        assert replayed["event"]["id"] == second["id"] and replayed["event_id"]
    finally:
        stop_process(proc)
