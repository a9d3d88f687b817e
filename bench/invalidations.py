"""Invalidation benchmark: two presignd instances on one redis-server.

1. Revocation-to-delivery latency across instances: a REVOKE sent to A, timed from just before it
   is sent until a redis-py pub/sub subscriber on B has the event; one revocation at a time.
2. Fan-out: one REVOKE TAG of many tokens through A, delivered to 100 raw-socket subscribers on B;
   events per second summed over the subscribers (the Python reader may be the limit: a floor).
"""

import selectors
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from support import Presignd, RedisProc  # noqa: E402
# The same clients and profile as the end-to-end tests of invalidations.
from test_invalidations import CLIENTS, PROFILE  # noqa: E402

MARK = b'{"event_id":'


def issue(d, n, tag=None):
    client = d.client("uploader")
    ids = []
    for start in range(0, n, 500):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(500, n - start)):
            pipe.execute_command("ISSUE", "GET", "bucket-a", f"o-{uuid.uuid4().hex}", *(["TAG", tag] if tag else []))
        for fields in pipe.execute():
            record = fields if isinstance(fields, dict) else dict(zip(fields[0::2], fields[1::2]))
            ids.append(record[b"id"].decode())
    return ids


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency(a, b, n):
    ids = issue(a, n)
    sub = b.client("admin").pubsub()
    sub.subscribe("invalidations")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    admin = a.client("admin")
    samples, revoke_only = [], []
    for token in ids:
        needle = f'"id":"{token}"'.encode()
        start = time.perf_counter()
        admin.execute_command("REVOKE", token)
        revoke_only.append(time.perf_counter() - start)
        while True:
            message = sub.get_message(timeout=5)
            if message is None:
                raise RuntimeError("an event did not arrive within 5 s")
            if message["type"] == "message" and needle in message["data"]:
                samples.append(time.perf_counter() - start)
                break
    sub.close()
    ms = [s * 1000 for s in samples]
    print(f"latency   revocations={n}  revoke->delivery on the other instance: "
          f"p50={percentile(ms, 50):.2f} ms  p99={percentile(ms, 99):.2f} ms  max={max(ms):.2f} ms  "
          f"(REVOKE reply alone p50={percentile([s * 1000 for s in revoke_only], 50):.2f} ms)  goal p99 <= 10 ms")
    print(f"RESULT invalidations.delivery.p50_ms={percentile(ms, 50):.2f}")
    print(f"RESULT invalidations.delivery.p99_ms={percentile(ms, 99):.2f}")
    print(f"RESULT invalidations.revoke_reply.p50_ms={percentile([s * 1000 for s in revoke_only], 50):.2f}")
    return percentile(ms, 99)


def raw_subscriber(d):
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(f"AUTH admin {CLIENTS['admin']['secret']}\r\nSUBSCRIBE invalidations\r\n".encode())
    expected = b"+OK\r\n*3\r\n$9\r\nsubscribe\r\n$13\r\ninvalidations\r\n:1\r\n"
    got = b""
    while len(got) < len(expected):
        got += s.recv(len(expected) - len(got))
    assert got == expected, got
    s.setblocking(False)
    return s


def fan_out(a, b, subscribers, events):
    socks = [raw_subscriber(b) for _ in range(subscribers)]
    tag = f"bench{uuid.uuid4().hex[:8]}"
    issue(a, events, tag=tag)
    selector = selectors.DefaultSelector()
    counts = {}
    tails = {}
    for s in socks:
        selector.register(s, selectors.EVENT_READ)
        counts[s] = 0
        tails[s] = b""
    done = 0
    start = time.perf_counter()
    assert a.client("admin").execute_command("REVOKE", "TAG", tag) == events
    deadline = start + 120
    while done < subscribers and time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=1):
            s = key.fileobj
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("a subscriber was disconnected")
            # Count event starts, keeping a tail so a marker split across reads is seen once.
            data = tails[s] + chunk
            counts[s] += data.count(MARK) - tails[s].count(MARK)
            tails[s] = data[-(len(MARK) - 1):]
            if counts[s] >= events:
                selector.unregister(s)
                done += 1
    elapsed = time.perf_counter() - start
    for s in socks:
        s.close()
    if done < subscribers:
        raise RuntimeError(f"only {done} of {subscribers} subscribers got every event")
    total = subscribers * events
    print(f"fan-out   {events} events (one REVOKE TAG) x {subscribers} subscribers on the other instance: "
          f"{total / elapsed:,.0f} events/s delivered in total, {events / elapsed:,.0f} events/s per subscriber "
          f"({elapsed:.2f} s until the last subscriber had the last event)")
    print(f"RESULT invalidations.fanout.events_per_s={total / elapsed:.0f}")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    fan_events = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    redis = RedisProc()
    try:
        prefix = {"prefix": f"bench-{uuid.uuid4().hex[:8]}:"}
        a = Presignd(redis, CLIENTS, PROFILE, redis_config=prefix, limits={"max_connections": 1000})
        b = Presignd(redis, CLIENTS, PROFILE, redis_config=prefix, limits={"max_connections": 1000})
        try:
            latency(a, b, n)
            fan_out(a, b, 100, fan_events)
        finally:
            a.stop()
            b.stop()
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
