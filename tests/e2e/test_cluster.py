"""presignd serve on a real Redis Cluster (three primaries, three replicas, made by
`redis-cli --cluster create`): tokens land on every primary, revocation by tag reaches them all with
one event each, and the configuration refuses a cluster mixed with a single server."""

import json
import subprocess
import time

import pytest
import redis

from support import Presignd, RedisProc, find, free_port, presignd_binary, wait_for
from test_daemon import as_record
from test_invalidations import CLIENTS, PROFILE


@pytest.fixture(scope="module")
def cluster():
    nodes = [RedisProc("cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 1000",
                       f"cluster-port {free_port()}") for _ in range(6)]
    try:
        out = subprocess.run([find("redis-cli"), "--cluster", "create",
                              *[f"127.0.0.1:{n.port}" for n in nodes], "--cluster-replicas", "1", "--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        wait_for(lambda: all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in nodes), 30, "cluster")
        # Writes wait for a replica (wait_replicas: 1): every replica must be in sync first.
        wait_for(lambda: sum(n.cli("INFO", "replication").count("state=online") for n in nodes) == 3, 30,
                 "replicas in sync")
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="module")
def daemon(cluster):
    d = Presignd(cluster[0], CLIENTS, PROFILE, redis_config={"cluster": [f"127.0.0.1:{cluster[3].port}"],
                                                               "wait_replicas": 1})
    yield d
    d.stop()


def owner(cluster, key):
    """The node holding `key`'s slot as a primary."""
    slot = int(cluster[0].cli("CLUSTER", "KEYSLOT", key))
    for shard in cluster[0].cli("CLUSTER", "NODES").splitlines():
        fields = shard.split()
        if "master" not in fields[2]:
            continue
        for part in fields[8:]:
            low, _, high = part.partition("-")
            if low.isdigit() and int(low) <= slot <= int(high or low):
                port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
                return next(n for n in cluster if n.port == port)
    raise AssertionError(f"no owner for slot {slot}")


def test_tokens_on_every_primary_revoked_by_tag_with_one_event_each(cluster, daemon):
    prefix = daemon.config["redis"]["prefix"]
    uploader, gateway, admin = daemon.client("uploader"), daemon.client("gateway"), daemon.client("admin")
    p = admin.pubsub()
    p.subscribe("invalidations")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    ids = []
    for index in range(12):
        fields = uploader.execute_command("ISSUE", "GET", "bucket-a", f"obj-{index}", "TAG", "spread", "USES", "2")
        ids.append(as_record(fields)["id"].decode())
    owners = {owner(cluster, f"{prefix}t:{{{token}}}").port for token in ids}
    assert len(owners) >= 2
    assert gateway.execute_command("CONSUME", ids[0]) == 1
    assert gateway.execute_command("CONSUME", ids[0]) == 0
    with pytest.raises(redis.ResponseError, match="^USED"):
        gateway.execute_command("CONSUME", ids[0])
    assert admin.execute_command("REVOKE", "TAG", "spread") == 11
    assert admin.execute_command("REVOKE", "TAG", "spread") == 0
    for token in ids[1:]:
        with pytest.raises(redis.ResponseError, match="^REVOKED"):
            gateway.execute_command("CONSUME", token)
    events = []
    deadline = time.monotonic() + 10
    while len(events) < 11 and time.monotonic() < deadline:
        message = p.get_message(timeout=0.5)
        if message and message["type"] == "message":
            events.append(json.loads(message["data"]))
    assert sorted(e["id"] for e in events) == sorted(ids[1:])
    assert p.get_message(timeout=1) is None, "an event came twice"
    stream = f"{prefix}events"
    assert owner(cluster, stream).cli("XLEN", stream) == "11"
    p.close()


def test_cluster_is_exclusive_with_address(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("redis:\n  address: 127.0.0.1:6379\n  cluster: ['127.0.0.1:7000']\n")
    out = subprocess.run([presignd_binary(), "check-config", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and "redis.cluster" in out.stderr and "redis.address" in out.stderr
    good = tmp_path / "good.yaml"
    good.write_text("redis:\n  cluster: ['127.0.0.1:7000', '127.0.0.1:7001']\n  wait_replicas: 1\n")
    out = subprocess.run([presignd_binary(), "check-config", str(good)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    sentinels = tmp_path / "sentinels.yaml"
    sentinels.write_text("redis:\n  sentinels: ['127.0.0.1:26379']\n  master_name: m\n  cluster: ['127.0.0.1:7000']\n")
    out = subprocess.run([presignd_binary(), "check-config", str(sentinels)], capture_output=True, text=True)
    assert out.returncode != 0 and "redis.cluster" in out.stderr and "redis.sentinels" in out.stderr


def test_a_reload_names_the_cluster_settings_by_their_keys(cluster):
    d = Presignd(cluster[0], CLIENTS, PROFILE, redis_config={"cluster": [f"127.0.0.1:{cluster[3].port}"]})
    try:
        assert d.client("admin").ping()
        d.config["redis"]["command_timeout_ms"] = 1500
        d.write_config()
        d.proc.send_signal(1)  # SIGHUP
        wait_for(lambda: "take effect only after a restart" in d.log_text(), 10, "the reload's warning")
        line = next(l for l in d.log_text().splitlines() if "take effect only after a restart" in l)
        assert line.endswith("settings=redis.command_timeout_ms"), line
        d.config["redis"]["cluster"] = [f"127.0.0.1:{cluster[4].port}"]
        d.write_config()
        d.proc.send_signal(1)
        wait_for(lambda: d.log_text().count("take effect only after a restart") == 2, 10, "the second warning")
        line = [l for l in d.log_text().splitlines() if "take effect only after a restart" in l][1]
        assert 'settings="redis.cluster, redis.command_timeout_ms"' in line, line
    finally:
        d.stop()
