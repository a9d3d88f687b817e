"""Invalidations across presignd instances: two daemons on one redis-server, subscribers using
redis-py's own pub/sub API (and raw sockets where a client must misbehave), REPLAY and RESYNC."""

import json
import re
import socket
import threading
import time
import uuid

import pytest
import redis

from support import Presignd, subscribe_raw, wait_for
from test_daemon import as_record

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDINVAL001", "secret_access_key": "inval-secret-key/for+tests",
}
CLIENTS = {
    "uploader": {"secret": "uploader-secret-0123456789abcdef", "roles": ["issue"]},
    "gateway": {"secret": "gateway-secret-0123456789abcdef0", "roles": ["gateway"]},
    "admin": {"secret": "admin-secret-0123456789abcdef012", "roles": ["admin"]},
}
SLOW_LIMIT = 2000  # above one hub batch (1,000 events), so a reader that keeps up is never cut


@pytest.fixture(scope="module")
def pair(redis_server):
    """Daemons A and B sharing one key prefix (so one event Stream) on one Redis. B bounds each
    subscriber's unread events low, so the slow-subscriber test needs few events."""
    prefix = {"prefix": f"inval-{uuid.uuid4().hex[:8]}:"}
    a = Presignd(redis_server, CLIENTS, PROFILE, redis_config=prefix)
    b = Presignd(redis_server, CLIENTS, PROFILE, redis_config=prefix,
                 limits={"subscriber_max_events": SLOW_LIMIT})
    yield a, b
    a.stop()
    b.stop()


def issue(d, n=1, key=None, tag=None):
    """Issues n tokens through d (pipelined), for `key` or each for an object of its own, with
    `tag` if given; returns their id and URL."""
    client = d.client("uploader")
    records = []
    for start in range(0, n, 250):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(250, n - start)):
            pipe.execute_command("ISSUE", "GET", "bucket-a", key or f"obj-{uuid.uuid4().hex}", *(["TAG", tag] if tag else []))
        for fields in pipe.execute():
            record = as_record(fields)
            records.append({"id": record["id"].decode(), "url": record["url"].decode()})
    return records


def subscriber(d):
    p = d.client("admin").pubsub()
    p.subscribe("invalidations")
    # The confirmation proves the subscription is in place before anything is revoked.
    first = p.get_message(timeout=5)
    assert first and first["type"] == "subscribe" and first["channel"] == b"invalidations" and first["data"] == 1
    return p


def receive(p, count, timeout=10.0):
    """The next `count` events, as parsed JSON; fails if they do not come."""
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        message = p.get_message(timeout=0.5)
        if message:
            assert message["type"] == "message", message
            assert message["channel"] == b"invalidations"
            events.append(json.loads(message["data"]))
    assert len(events) == count, f"got {len(events)} of {count} events"
    return events


def hub_connection_ids(redis_server):
    lines = redis_server.cli("CLIENT", "LIST").splitlines()
    return [dict(f.split("=", 1) for f in line.split())["id"] for line in lines if "name=presignd-events " in line]


def assert_no_secrets(raw: str, records):
    for record in records:
        assert record["url"] not in raw
        signature = record["url"].split("X-Amz-Signature=")[1][:64]
        assert signature not in raw
    assert "X-Amz" not in raw and "http" not in raw
    for secret in [PROFILE["secret_access_key"]] + [c["secret"] for c in CLIENTS.values()]:
        assert secret not in raw


def test_revoke_through_a_reaches_a_subscriber_on_b(pair):
    a, b = pair
    p = subscriber(b)
    [token] = issue(a)
    assert a.client("admin").execute_command("REVOKE", token["id"], "REASON", "leaked") == 1
    [event] = receive(p, 1)
    assert event["event"] == "revoked" and event["id"] == token["id"] and event["bucket"] == "bucket-a"
    assert event["reason"] == "leaked" and event["by"] == "admin" and isinstance(event["at"], int)
    assert event["event_id"].count("-") == 1
    # The same event, by the same id, is in the Stream.
    assert b.client("admin").execute_command("REPLAY", "0-0", "COUNT", "10000")[-1][0].decode() == event["event_id"]
    info = b.client("admin").info()  # redis-py parses the field:value lines
    assert info["last_event_id"] == event["event_id"] and info["subscribers"] == 1
    p.close()


def test_hub_resumes_after_its_redis_connection_is_killed(pair, redis_server):
    a, b = pair
    p = subscriber(b)
    tokens = issue(a, 20)
    admin = a.client("admin")
    killed = 0
    for token in tokens:
        # Both instances' stream connections are cut, then a revocation lands while they reconnect.
        wait_for(lambda: len(hub_connection_ids(redis_server)) == 2, 10, "both stream connections")
        for client_id in hub_connection_ids(redis_server):
            killed += int(redis_server.cli("CLIENT", "KILL", "ID", client_id) == "1")
        assert admin.execute_command("REVOKE", token["id"]) == 1
    assert killed == 40
    events = receive(p, 20)
    assert [e["id"] for e in events] == [t["id"] for t in tokens]
    wait_for(lambda: "event stream read failed" in b.log_text(), 10, "the stream read warning")
    # Exactly once: nothing more is on its way.
    assert p.get_message(timeout=1) is None, "an event came twice"
    p.close()


def test_replay_returns_exactly_what_a_subscriber_missed(pair):
    a, b = pair
    admin_b = b.client("admin")
    p = subscriber(b)
    seen = issue(a, 2)
    for token in seen:
        a.client("admin").execute_command("REVOKE", token["id"])
    last = receive(p, 2)[-1]["event_id"]
    p.close()

    missed = issue(a, 5)
    for token in missed:
        a.client("admin").execute_command("REVOKE", token["id"])

    replayed = admin_b.execute_command("REPLAY", last)
    assert [json.loads(payload)["id"] for _, payload in replayed] == [t["id"] for t in missed]
    ids = [event_id.decode() for event_id, _ in replayed]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert all(json.loads(payload)["event_id"] == i for i, (_, payload) in zip(ids, replayed))
    assert [e[0] for e in admin_b.execute_command("REPLAY", last, "COUNT", "2")] == [i.encode() for i in ids[:2]]
    assert admin_b.execute_command("REPLAY", ids[-1]) == []
    for bad in ["abc", "1-2-3", "-1", "1-", "99999999999999999999999-0"]:
        with pytest.raises(redis.ResponseError, match="^Invalid stream ID"):
            admin_b.execute_command("REPLAY", bad)
    for bad_count in ["0", "10001", "x"]:
        with pytest.raises(redis.ResponseError, match="COUNT must be"):
            admin_b.execute_command("REPLAY", last, "COUNT", bad_count)
    with pytest.raises(redis.exceptions.NoPermissionError):
        b.client("gateway").execute_command("REPLAY", last)


def test_resync_once_the_stream_is_trimmed_past_the_id(redis_server):
    # MAXLEN ~ trims whole nodes of 100 entries, so a cap of 1 keeps the newest node only: 250
    # events in one revocation trim the first two nodes.
    d = Presignd(redis_server, CLIENTS, PROFILE, redis_config={"events_max_len": 1})
    try:
        admin = d.client("admin")
        [first] = issue(d)
        admin.execute_command("REVOKE", first["id"])
        [[first_id, _]] = admin.execute_command("REPLAY", "0-0")
        issue(d, 250, tag="bulk")
        assert admin.execute_command("REVOKE", "TAG", "bulk") == 250
        with pytest.raises(redis.ResponseError, match="^RESYNC"):
            admin.execute_command("REPLAY", first_id)
        with pytest.raises(redis.ResponseError, match="^RESYNC"):
            admin.execute_command("REPLAY", "0-0")
        # An id from the future did not come from this stream.
        with pytest.raises(redis.ResponseError, match="^RESYNC"):
            admin.execute_command("REPLAY", "99999999999999-0")
        # Even the largest id there can be (Redis refuses an interval after it: not an outage).
        with pytest.raises(redis.ResponseError, match="^RESYNC"):
            admin.execute_command("REPLAY", "18446744073709551615-18446744073709551615")
        # From the oldest entry still kept, the stream does reach back: the rest comes, in full.
        stream = f"presign-{d.port}:events"
        direct = redis.Redis(port=redis_server.port)
        length = direct.xlen(stream)
        assert 1 <= length < 251
        [(oldest_kept, _)] = direct.xrange(stream, count=1)
        kept = admin.execute_command("REPLAY", oldest_kept, "COUNT", "10000")
        assert [i for i, _ in kept] == [i for i, _ in direct.xrange(stream)][1:]
    finally:
        d.stop()


def test_revoke_by_tag_and_object_gives_one_event_per_token(pair):
    a, b = pair
    p = subscriber(b)
    tag = f"t{uuid.uuid4().hex[:8]}"
    tagged = issue(a, 3, tag=tag)
    key = f"shared-{uuid.uuid4().hex}"
    same_object = issue(a, 2, key=key)
    admin = a.client("admin")
    assert admin.execute_command("REVOKE", "TAG", tag) == 3
    assert admin.execute_command("REVOKE", "OBJECT", "bucket-a", key, "REASON", "gdpr") == 2
    events = receive(p, 5)
    assert sorted(e["id"] for e in events[:3]) == sorted(t["id"] for t in tagged)
    assert sorted(e["id"] for e in events[3:]) == sorted(t["id"] for t in same_object)
    assert all(e["key"] == key and e["reason"] == "gdpr" for e in events[3:])
    assert p.get_message(timeout=1) is None, "an event came twice"
    assert_no_secrets(json.dumps(events), tagged + same_object)
    p.close()


def raw_subscriber(d, rcvbuf=None):
    return subscribe_raw(d.port, "admin", CLIENTS["admin"]["secret"], rcvbuf)


def test_a_subscriber_that_does_not_read_is_disconnected_and_others_keep_receiving(pair):
    a, b = pair
    # The subscriber that keeps up reads raw bytes in its own thread, as fast as presignd sends
    # them, while the test spends seconds on the slow one.
    reader = raw_subscriber(b)
    slow = raw_subscriber(b, rcvbuf=4096)
    count = 5000
    tag = f"many{uuid.uuid4().hex[:8]}"
    tokens = issue(a, count, tag=tag)
    received = {}

    def drain():
        data = b""
        reader.settimeout(30)
        while data.count(b"$7\r\nmessage\r\n") < count:
            chunk = reader.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        received["events"] = [json.loads(m) for m in re.findall(rb"\$\d+\r\n(\{[^\r]*\})\r\n", data)]

    reading = threading.Thread(target=drain)
    reading.start()
    assert a.client("admin").execute_command("REVOKE", "TAG", tag) == count

    # The slow one: once presignd gave up on it, whatever it had room for, then the reason, then
    # the end of the connection (read within the 5 s presignd leaves for the reason to go out).
    wait_for(lambda: "subscriber disconnected" in b.log_text(), 20, "the slow subscriber's disconnection")
    slow.settimeout(20)
    data = b""
    while chunk := slow.recv(65536):
        data += chunk
    assert data.endswith(b"\r\n") and data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1].startswith(
        f"-ERR subscriber too slow: more than {SLOW_LIMIT} events".encode())
    assert data.count(b"$7\r\nmessage\r\n") < count

    reading.join()
    events = received.get("events", [])
    assert sorted(e["id"] for e in events) == sorted(t["id"] for t in tokens)
    reader.close()


def test_subscribed_mode_follows_redis_rules(pair):
    _, b = pair
    s = raw_subscriber(b)
    s.settimeout(5)

    def reply(expected: bytes):
        got = b""
        while len(got) < len(expected):
            got += s.recv(len(expected) - len(got))
        assert got == expected

    s.sendall(b"CHECK AAAAAAAAAAAAAAAAAAAAAA\r\n")
    reply(b"-ERR Can't execute 'check': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context\r\n")
    s.sendall(b"PING\r\n")
    reply(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
    # MULTI is one more command not taken here: it starts no transaction that would refuse the
    # keep-alive PING after it. A name in other letters that Unicode upper-cases to PING (dotless
    # i) is not PING, as in Redis.
    s.sendall(b"MULTI\r\nPING\r\n")
    reply(b"-ERR Can't execute 'multi': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context\r\n"
          b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
    s.sendall("p\u0131ng\r\n".encode())
    reply("-ERR Can't execute 'p\u0131ng': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context\r\n"
          .encode())
    s.sendall(b"SUBSCRIBE other\r\n")
    reply(b"-ERR unknown channel 'other': presignd publishes only 'invalidations'\r\n")
    s.sendall(b"UNSUBSCRIBE\r\n")
    reply(b"*3\r\n$11\r\nunsubscribe\r\n$13\r\ninvalidations\r\n:0\r\n")
    s.sendall(b"PING\r\n")
    reply(b"+PONG\r\n")
    # RESP3: confirmations and messages are pushes, and other commands stay allowed.
    s.sendall(b"HELLO 3\r\n")
    s.recv(4096)
    s.sendall(b"SUBSCRIBE invalidations\r\nPING\r\n")
    reply(b">3\r\n$9\r\nsubscribe\r\n$13\r\ninvalidations\r\n:1\r\n+PONG\r\n")
    s.close()

    # A SUBSCRIBE refused for one of its channels subscribes to none of them.
    s = socket.create_connection(("127.0.0.1", b.port))
    s.settimeout(5)
    s.sendall(b"AUTH admin " + CLIENTS["admin"]["secret"].encode() + b"\r\n")
    reply(b"+OK\r\n")
    s.sendall(b"SUBSCRIBE invalidations other\r\n")
    reply(b"-ERR unknown channel 'other': presignd publishes only 'invalidations'\r\n")
    s.sendall(b"CHECK AAAAAAAAAAAAAAAAAAAAAA\r\n")
    reply(b"$-1\r\n")
    s.close()

    with pytest.raises(redis.exceptions.NoPermissionError):
        b.client("gateway").execute_command("SUBSCRIBE", "invalidations")


def test_a_scoped_admin_receives_and_replays_only_events_within_its_scope(redis_server):
    clients = {
        **CLIENTS,
        "alpha-admin": {"secret": "alpha-admin-secret-0123456789ab", "roles": ["admin"],
                        "buckets": ["alpha-bucket"], "key_prefixes": ["public/"]},
    }
    d = Presignd(redis_server, clients, PROFILE, redis_config={"prefix": f"scope-{uuid.uuid4().hex[:8]}:"})
    try:
        def issue_one(bucket, key):
            fields = d.client("uploader").execute_command("ISSUE", "GET", bucket, key, "TAG", "t")
            return as_record(fields)["id"].decode()

        scoped = d.client("alpha-admin").pubsub()
        scoped.subscribe("invalidations")
        assert scoped.get_message(timeout=5)["type"] == "subscribe"
        everything = subscriber(d)
        root = d.client("admin")
        # Events outside the scope around two within it (more than the first pages of a scoped
        # REPLAY COUNT 1 hold: 1, 2, 4 events); a key with quotes, a backslash and a control
        # character tests reading the payload.
        inside = issue_one("alpha-bucket", 'public/"odd\\name\x01.txt')
        outside = [issue_one("beta-bucket", f"public/{n}") for n in range(6)]
        outside.append(issue_one("alpha-bucket", "private/p.txt"))
        last = issue_one("alpha-bucket", "public/last.txt")
        for target in [inside, *outside, last]:
            assert root.execute_command("REVOKE", target) == 1
        seen = [e["id"] for e in receive(everything, 9)]
        assert seen == [inside, *outside, last]
        events = receive(scoped, 2)
        assert [e["id"] for e in events] == [inside, last]
        assert events[0]["key"] == 'public/"odd\\name\x01.txt'
        assert scoped.get_message(timeout=1) is None, "an event outside the scope was delivered"
        # REPLAY: COUNT counts the events the client may see; pages of others are read past.
        page = d.client("alpha-admin").execute_command("REPLAY", "0-0", "COUNT", "1")
        assert [json.loads(event)["id"] for _, event in page] == [inside]
        page = d.client("alpha-admin").execute_command("REPLAY", page[-1][0], "COUNT", "1")
        assert [json.loads(event)["id"] for _, event in page] == [last]
        assert d.client("alpha-admin").execute_command("REPLAY", page[-1][0]) == []
        assert len(root.execute_command("REPLAY", "0-0")) == 9
    finally:
        d.stop()
