"""The hand-written approach presignd is measured against, as the well-known blog recipe does it:
boto3 presigns the URL and the service stores a status key `SET status:<id> unused EX <ttl>`; the
gateway GETs the status and, when it says `unused`, SETs it `used` (two round trips, not atomic).

    recipe.py issue --port P --clients C --seconds S
        issue rate of the recipe (boto3 presign + SET) from C concurrent issuers, spread over one
        process per core with threads in each, as a Python service runs (workers x threads)
    recipe.py race --port P --presignd-port Q --client ID --secret S --urls N --gateways G
        G gateway processes race over the same N one-time URLs in the same order, first the
        recipe's (GET then SET on Redis), then presignd's (CONSUME over its line protocol); counts
        the URLs each let through more than once

Prints `RESULT name=value` lines for bench/run.
"""

import argparse
import multiprocessing
import os
import threading
import time
import uuid

import boto3
import redis
from botocore.config import Config


def s3_client():
    return boto3.session.Session().client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9000",
        aws_access_key_id="AKIARECIPEBENCH00001", aws_secret_access_key="recipe-secret-key",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def recipe_issue(s3, r, key, ttl=600):
    """One URL the recipe's way: presign, then a status key with the same lifetime."""
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bench-bucket", "Key": key}, ExpiresIn=ttl)
    token = uuid.uuid4().hex
    r.set(f"status:{token}", "unused", ex=ttl)
    return token, url


def issue_worker(port, threads, seconds, start, results):
    s3 = s3_client()
    pool = redis.ConnectionPool(host="127.0.0.1", port=port, max_connections=threads)
    r = redis.Redis(connection_pool=pool)
    recipe_issue(s3, r, "warm-up")
    counts = [0] * threads

    def run(lane):
        deadline = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < deadline:
            recipe_issue(s3, r, f"obj-{os.getpid()}-{lane}-{i}")
            i += 1
        counts[lane] = i

    workers = [threading.Thread(target=run, args=(lane,)) for lane in range(threads)]
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    results.put(sum(counts) / (time.perf_counter() - began))


def issue(args):
    processes = min(args.clients, os.cpu_count() or 1)
    shares = [args.clients // processes + (1 if p < args.clients % processes else 0) for p in range(processes)]
    start = multiprocessing.Barrier(processes)
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=issue_worker, args=(args.port, share, args.seconds, start, results))
             for share in shares]
    for p in procs:
        p.start()
    rate = sum(results.get() for _ in procs)
    for p in procs:
        p.join()
    print(f"RESULT recipe.issue.c{args.clients}.rps={rate:.0f}")
    print(f"RESULT recipe.issue.c{args.clients}.processes={processes}")


def recipe_gateway(port, keys, start, results):
    r = redis.Redis(host="127.0.0.1", port=port)
    r.ping()
    allowed = []
    start.wait()
    for index, key in enumerate(keys):
        if r.get(key) == b"unused":
            r.set(key, "used", keepttl=True)
            allowed.append(index)
    results.put(allowed)


def presignd_gateway(port, client, secret, ids, start, results):
    r = redis.Redis(host="127.0.0.1", port=port, username=client, password=secret)
    r.ping()
    allowed = []
    start.wait()
    for index, token in enumerate(ids):
        try:
            r.execute_command("CONSUME", token)
            allowed.append(index)
        except redis.ResponseError as denied:
            if not str(denied).startswith("USED"):
                raise
    results.put(allowed)


def race_once(gateways, target, args_for):
    """Runs the gateways over the same list from one start; returns how often each URL was allowed."""
    start = multiprocessing.Barrier(gateways)
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=target, args=(*args_for, start, results)) for _ in range(gateways)]
    for p in procs:
        p.start()
    counts = {}
    for _ in procs:
        for index in results.get():
            counts[index] = counts.get(index, 0) + 1
    for p in procs:
        p.join()
    return counts


def race(args):
    r = redis.Redis(host="127.0.0.1", port=args.port)
    s3 = s3_client()
    keys = [f"status:{recipe_issue(s3, r, f'race-{i}')[0]}" for i in range(args.urls)]
    print(f"RESULT recipe.bytes_per_token={r.memory_usage(keys[0])}")

    issuer = redis.Redis(host="127.0.0.1", port=args.presignd_port, username=args.client, password=args.secret)
    ids = []
    for first in range(0, args.urls, 500):  # batches below presignd's cap on requests in flight to Redis
        pipe = issuer.pipeline(transaction=False)
        for i in range(first, min(first + 500, args.urls)):
            pipe.execute_command("ISSUE", "GET", "bench-bucket", f"race-{i}", "TTL", "600", "USES", "1")
        for fields in pipe.execute():  # a map after HELLO 3, a flat array of pairs in RESP2
            record = fields if isinstance(fields, dict) else dict(zip(fields[0::2], fields[1::2]))
            ids.append(record[b"id"].decode())

    failures = 0
    for name, target, args_for, tokens in (
        ("recipe", recipe_gateway, (args.port, keys), keys),
        ("presignd", presignd_gateway, (args.presignd_port, args.client, args.secret, ids), ids),
    ):
        began = time.perf_counter()
        counts = race_once(args.gateways, target, args_for)
        elapsed = time.perf_counter() - began
        reused = sum(1 for c in counts.values() if c > 1)
        print(f"RESULT race.{name}.reused={reused}")
        print(f"RESULT race.{name}.extra_uses={sum(c - 1 for c in counts.values())}")
        print(f"RESULT race.{name}.never_allowed={len(tokens) - len(counts)}")
        print(f"RESULT race.{name}.seconds={elapsed:.2f}")
        if name == "presignd":
            failures = reused + len(tokens) - len(counts)
    print(f"RESULT race.urls={args.urls}")
    print(f"RESULT race.gateways={args.gateways}")
    if failures:
        raise SystemExit(f"presignd let {failures} one-time URLs through other than exactly once")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("issue")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--seconds", type=float, default=3.0)
    p = sub.add_parser("race")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--presignd-port", type=int, required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--urls", type=int, default=2000)
    p.add_argument("--gateways", type=int, default=8)
    args = parser.parse_args()
    issue(args) if args.mode == "issue" else race(args)


if __name__ == "__main__":
    main()
