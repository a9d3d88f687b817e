"""presignd under the ACL users of redis.conf.example: the deploy user loads the Function library
with the documented pipeline (`presignd function-library | redis-cli … -x FUNCTION LOAD REPLACE`),
and the daemon, as the restricted presignd user, serves issue, consume, revoke, events and /readyz."""

import subprocess
import urllib.error
import urllib.request

from support import ROOT, Presignd, RedisProc, find, function_library_name, presignd_binary

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDE2E00001", "secret_access_key": "e2e-secret-key/for+tests",
}
CLIENTS = {"all": {"secret": "all-roles-secret-0123456789abcdef", "roles": ["issue", "gateway", "admin"]}}


def example_users(presignd_password: str, deployer_password: str) -> list[str]:
    """The `user presignd` and `user deployer` lines of redis.conf.example, with passwords."""
    lines = [line for line in (ROOT / "redis.conf.example").read_text().splitlines()
             if line.startswith(("user presignd ", "user deployer "))]
    assert len(lines) == 2
    return [line.replace("CHANGE_ME_PRESIGND", presignd_password).replace("CHANGE_ME_DEPLOYER", deployer_password)
            for line in lines]


def test_daemon_as_the_restricted_user():
    # The default user stays on here only so the fixture can PING and inspect.
    redis = RedisProc(*example_users("presignd-pw-0123456789", "deployer-pw-0123456789"))
    daemon = None
    try:
        source = subprocess.run([presignd_binary(), "function-library"], capture_output=True, check=True).stdout
        loaded = subprocess.run([find("redis-cli"), "-p", str(redis.port), "--user", "deployer", "--pass",
                                 "deployer-pw-0123456789", "--no-auth-warning", "-x", "FUNCTION", "LOAD", "REPLACE"],
                                input=source, capture_output=True, timeout=30)
        assert loaded.stdout.decode().strip() == function_library_name(), loaded.stdout + loaded.stderr
        daemon = Presignd(redis, CLIENTS, PROFILE, http=True,
                          redis_config={"prefix": "presign:", "username": "presignd",
                                        "password": "presignd-pw-0123456789"})
        out = daemon.cli("all", "ISSUE", "GET", "bucket-a", "k.txt", "USES", "2", "TAG", "t1").splitlines()
        token_id = out[out.index("id") + 1]
        assert daemon.cli("all", "CONSUME", token_id) == "1"
        assert daemon.cli("all", "REVOKE", "TAG", "t1") == "1"
        assert daemon.cli("all", "CONSUME", token_id).startswith("REVOKED")
        replay = daemon.cli("all", "REPLAY", "0-0")
        assert token_id in replay and '"event":"revoked"' in replay
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.http_port}/readyz", timeout=5) as answer:
            assert answer.status == 200
        log = daemon.log_text()
        assert "already loaded by someone else" in log
        # The daemon itself never got a NOPERM beyond the FUNCTION LOAD it is expected to be refused.
        denied = redis.cli("ACL", "LOG")
        assert "function|load" in denied
        assert all(word not in denied for word in ("xread", "xrange", "xinfo", "fcall", "client|setname"))
    finally:
        if daemon:
            daemon.stop()
        redis.stop()


def test_not_ready_while_the_user_lacks_a_command_the_functions_run():
    """An ACL from before a version that needs more commands (a rolling upgrade): /readyz answers
    503 naming them, so the orchestrator keeps the new daemon out of traffic, until they are granted."""
    redis = RedisProc(*example_users("presignd-pw-0123456789", "deployer-pw-0123456789"))
    daemon = None
    try:
        assert redis.cli("ACL", "SETUSER", "presignd", "-zadd", "-zrange") == "OK"
        source = subprocess.run([presignd_binary(), "function-library"], capture_output=True, check=True).stdout
        subprocess.run([find("redis-cli"), "-p", str(redis.port), "--user", "deployer", "--pass",
                        "deployer-pw-0123456789", "--no-auth-warning", "-x", "FUNCTION", "LOAD", "REPLACE"],
                       input=source, capture_output=True, timeout=30, check=True)
        daemon = Presignd(redis, CLIENTS, PROFILE, http=True,
                          redis_config={"prefix": "presign:", "username": "presignd",
                                        "password": "presignd-pw-0123456789"})
        readyz = f"http://127.0.0.1:{daemon.http_port}/readyz"
        try:
            urllib.request.urlopen(readyz, timeout=5)
            raise AssertionError("/readyz answered 200")
        except urllib.error.HTTPError as refused:
            assert refused.code == 503
            body = refused.read().decode()
            assert "may not run ZADD, ZRANGE" in body, body
        assert daemon.cli("all", "ISSUE", "GET", "bucket-a", "k.txt").startswith("UNAVAILABLE")
        assert "the Redis user may not run ZADD, ZRANGE" in daemon.log_text()
        assert redis.cli("ACL", "SETUSER", "presignd", "+zadd", "+zrange") == "OK"
        with urllib.request.urlopen(readyz, timeout=5) as answer:
            assert answer.status == 200
        assert "id" in daemon.cli("all", "ISSUE", "GET", "bucket-a", "k.txt").splitlines()
    finally:
        if daemon:
            daemon.stop()
        redis.stop()
