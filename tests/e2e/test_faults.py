"""presignd when things break (issue #7.4): Redis killed and restarted, Redis frozen, presignd
killed, Redis out of memory. Each test runs a real daemon on its own redis-server and talks to it
with redis-py. Time bounds are generous: they catch hangs and stuck recoveries, not slowness."""

import threading
import time

import pytest
import redis

from support import Presignd, RedisProc
from test_daemon import as_record
# Clients without scopes: the stall test issues one token of a million uses.
from test_invalidations import CLIENTS, PROFILE


def issue(d, key, uses=1):
    fields = d.client("uploader").execute_command("ISSUE", "GET", "bucket-a", key, "TTL", "600", "USES", str(uses))
    return as_record(fields)["id"].decode()


def consume(client, token):
    """OK, or the code word of the error reply (USED, UNAVAILABLE, …)."""
    try:
        client.execute_command("CONSUME", token)
        return "OK"
    except redis.exceptions.ResponseError as error:
        return str(error).split(" ", 1)[0]


def check_state(d, token):
    return as_record(d.client("gateway").execute_command("CHECK", token))["state"].decode()


def assert_spent(d, client, token):
    """A one-time token that was allowed: denied as USED, and its record says spent."""
    assert consume(client, token) == "USED"
    assert check_state(d, token) == "spent"


def wait_until(predicate, timeout):
    """Seconds until predicate() held, or None after timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except (redis.exceptions.RedisError, OSError):
            pass
        time.sleep(0.01)
    return None


def test_redis_kill9_and_restart_fails_closed_and_recovers():
    server = RedisProc("appendonly yes", "appendfsync always")
    d = Presignd(server, CLIENTS, PROFILE)
    try:
        tokens = [issue(d, f"k{i}") for i in range(300)]
        probe = issue(d, "probe", uses=1000)
        replies = {t: [] for t in tokens}
        stop = threading.Event()
        unexpected = []

        def consumer(lane):
            client = d.client("gateway", socket_timeout=10)
            i = lane
            while not stop.is_set():
                token = tokens[i % len(tokens)]
                answer = consume(client, token)
                if answer not in ("OK", "USED", "UNAVAILABLE"):
                    unexpected.append(answer)
                replies[token].append(answer)
                i += 4
                time.sleep(0.002)

        threads = [threading.Thread(target=consumer, args=(lane,)) for lane in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        server.kill9()
        time.sleep(1)
        server.start()
        gateway = d.client("gateway")
        recovery = wait_until(lambda: consume(gateway, probe) == "OK", 5)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        print(f"recovery after Redis restart: {recovery} s")
        assert recovery is not None, "presignd did not serve again within 5 s of Redis being back"
        assert not unexpected, f"answers other than OK/USED/UNAVAILABLE: {set(unexpected)}"
        answers = [a for t in tokens for a in replies[t]]
        assert "UNAVAILABLE" in answers, "the outage was not seen: the test did not test it"
        doubled = [t for t in tokens if replies[t].count("OK") > 1]
        assert not doubled, f"{len(doubled)} one-time tokens were allowed twice"
        # Every token allowed before or after the restart stays spent.
        for token in tokens:
            if "OK" in replies[token]:
                assert_spent(d, gateway, token)
    finally:
        d.stop()
        server.stop()


def test_redis_stalled_requests_end_at_their_deadline_and_memory_stays_bounded():
    server = RedisProc()
    d = Presignd(server, CLIENTS, PROFILE, redis_config={"command_timeout_ms": 300})
    try:
        token = issue(d, "stalled", uses=1_000_000)
        gateway = d.client("gateway")
        assert consume(gateway, token) == "OK"
        before = d.rss_kib()
        server.pause()
        slowest = [0.0]
        answers = []
        stop = threading.Event()

        def sender():
            client = d.client("gateway", socket_timeout=10)
            pipe_size = 50
            while not stop.is_set():
                started = time.monotonic()
                pipe = client.pipeline(transaction=False)
                for _ in range(pipe_size):
                    pipe.execute_command("CONSUME", token)
                results = pipe.execute(raise_on_error=False)
                slowest[0] = max(slowest[0], time.monotonic() - started)
                answers.extend(str(r).split(" ", 1)[0] if isinstance(r, Exception) else "OK" for r in results)

        threads = [threading.Thread(target=sender) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        grown = d.rss_kib() - before
        server.resume()
        recovery = wait_until(lambda: consume(gateway, token) == "OK", 5)
        print(f"stall: {len(answers)} answers, slowest batch {slowest[0]:.2f} s, RSS +{grown} KiB, "
              f"recovery after SIGCONT {recovery} s")
        assert len(answers) > 100
        assert set(answers) == {"UNAVAILABLE"}, set(answers)
        # A socket timeout would have raised in a sender; a batch is answered within its deadline
        # plus reconnect attempts, far under 10 s.
        assert slowest[0] < 5
        assert grown < 32 * 1024, f"RSS grew by {grown} KiB while Redis was frozen"
        assert recovery is not None, "presignd did not serve again within 5 s of SIGCONT"
    finally:
        d.stop()
        server.stop()


def test_presignd_kill9_and_restart_keeps_every_token_state():
    server = RedisProc("appendonly yes", "appendfsync always")
    d = Presignd(server, CLIENTS, PROFILE)
    try:
        gateway = d.client("gateway")
        spent = [issue(d, f"spent{i}") for i in range(20)]
        active = [issue(d, f"active{i}") for i in range(20)]
        multi = issue(d, "multi", uses=3)
        revoked = issue(d, "revoked")
        for token in spent:
            assert consume(gateway, token) == "OK"
        assert consume(gateway, multi) == "OK"
        assert d.client("admin").execute_command("REVOKE", revoked) is not None
        d.kill9()
        d.start()
        gateway = d.client("gateway")
        for token in spent:
            assert_spent(d, gateway, token)
        for token in active:
            assert check_state(d, token) == "active"
        assert consume(gateway, revoked) == "REVOKED"
        record = as_record(gateway.execute_command("CHECK", multi))
        assert int(record["uses_left"]) == 2
        for token in active:
            assert consume(gateway, token) == "OK"
    finally:
        d.stop()
        server.stop()


def test_redis_out_of_memory_answers_unavailable_naming_it_and_writes_nothing_half():
    server = RedisProc("maxmemory-policy noeviction")
    d = Presignd(server, CLIENTS, PROFILE, redis_config={"prefix": "oom:"})
    try:
        gateway = d.client("gateway")
        tokens = [issue(d, f"before{i}") for i in range(50)]
        assert consume(gateway, tokens[0]) == "OK"
        server.cli("CONFIG", "SET", "maxmemory", "1")
        with pytest.raises(redis.exceptions.ResponseError) as refused:
            issue(d, "during")
        assert str(refused.value).startswith("UNAVAILABLE") and "OOM" in str(refused.value), str(refused.value)
        with pytest.raises(redis.exceptions.ResponseError) as refused:
            gateway.execute_command("CONSUME", tokens[1])
        assert str(refused.value).startswith("UNAVAILABLE") and "OOM" in str(refused.value), str(refused.value)
        print(f"out of memory: CONSUME answered -{refused.value}")
        # A read-only check still answers, and the refused consume left the token as it was.
        assert check_state(d, tokens[1]) == "active"
        assert check_state(d, tokens[0]) == "spent"
        assert d.client("gateway").ping()

        # Nothing half-written: every token hash has its expiry, every index entry has its token.
        keys = [k.decode() for k in server_keys(server, "oom:*")]
        hashes = [k for k in keys if k.startswith("oom:t:")]
        assert len(hashes) == 50
        for key in keys:
            assert int(server.cli("PEXPIRETIME", key)) > 0 or key == "oom:events", key
        for key in keys:
            if key.startswith(("oom:oz:", "oom:gz:")):
                for member in server.cli("ZRANGE", key, "0", "-1").split():
                    assert server.cli("EXISTS", f"oom:t:{{{member}}}") == "1", (key, member)

        server.cli("CONFIG", "SET", "maxmemory", "0")
        assert consume(gateway, tokens[1]) == "OK"
        assert issue(d, "after")
    finally:
        d.stop()
        server.stop()


def server_keys(server, pattern):
    client = redis.Redis(host="127.0.0.1", port=server.port)
    return list(client.scan_iter(match=pattern, count=1000))
