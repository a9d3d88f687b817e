"""presignd configured with redis.sentinels: it finds the primary through Sentinel and follows a
failover by itself."""

import time

import pytest
import redis

from support import Presignd, RedisProc, SentinelSet, wait_for
from test_faults import CLIENTS, PROFILE, assert_spent, check_state, consume, issue


def test_daemon_follows_a_failover_and_never_allows_an_acknowledged_consume_twice():
    topology = SentinelSet("min-replicas-to-write 1", "min-replicas-max-lag 10")
    d = Presignd(topology.primary, CLIENTS, PROFILE, redis_config={
        "address": None, "sentinels": topology.addresses, "master_name": SentinelSet.MASTER})
    try:
        gateway = d.client("gateway", socket_timeout=10)
        tokens = [issue(d, f"k{i}") for i in range(200)]
        allowed = [t for t in tokens[:100] if consume(gateway, t) == "OK"]
        assert len(allowed) == 100
        assert f"redis.primary=127.0.0.1:{topology.primary.port}" in d.log_text()
        killed = time.monotonic()
        topology.primary.kill9()
        recovered = None
        for token in tokens[100:]:
            answer = consume(gateway, token)
            assert answer in ("OK", "UNAVAILABLE"), answer
            if answer == "OK":
                allowed.append(token)
                recovered = recovered or time.monotonic() - killed
            time.sleep(0.05)
        print(f"sentinel failover: presignd allowed again {recovered} s after the kill")
        assert recovered is not None, "presignd did not serve again after the failover"
        assert topology.primary_port() == topology.replica.port
        assert f"redis.primary=127.0.0.1:{topology.replica.port}" in d.log_text()
        for token in allowed:
            assert_spent(d, gateway, token)
    finally:
        d.stop()
        topology.stop()


def test_wait_replicas_denies_a_consume_no_replica_confirmed():
    primary = RedisProc()
    replica = RedisProc(f"replicaof 127.0.0.1 {primary.port}")
    wait_for(lambda: "state=online" in primary.cli("INFO", "replication"), 10, "the replica")
    d = Presignd(primary, CLIENTS, PROFILE, redis_config={"wait_replicas": 1, "wait_replicas_timeout_ms": 200})
    try:
        gateway = d.client("gateway")
        first, second = issue(d, "a"), issue(d, "b")
        assert consume(gateway, first) == "OK"
        replica.kill9()
        # The primary runs the consume but no replica confirms it: it may not survive a failover.
        with pytest.raises(redis.exceptions.ResponseError) as refused:
            gateway.execute_command("CONSUME", second)
        assert str(refused.value).startswith("UNAVAILABLE") and "replica" in str(refused.value), str(refused.value)
        assert check_state(d, second) == "spent"
        assert consume(gateway, first) == "USED"
    finally:
        d.stop()
        replica.stop()
        primary.stop()
