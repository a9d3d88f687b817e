#!/usr/bin/env python3
"""botocore generate_presigned_url on one thread, same inputs as `PresignBench sign`.

    botocore_presign.py [seconds]   every case for `seconds` each
    botocore_presign.py --serve     reads `<case> <seconds>` lines, answers each with that case's line

Prints lines shaped like PresignBench's: sign.<case> urls_per_s=N ...
"""
import sys
import time

import botocore.session
from botocore.config import Config

CASES = {
    "get_path": ("get_object", lambda k: {"Bucket": "examplebucket", "Key": k}),
    "put_content_type": ("put_object", lambda k: {"Bucket": "examplebucket", "Key": k, "ContentType": "image/jpeg"}),
}


def make_client():
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


KEYS = ["users/42/avatars/photo-%03d.jpg" % (i % 1000) for i in range(1024)]
assert all(len(k.encode()) == 30 for k in KEYS)


def measure(client, name: str, seconds: float) -> str:
    operation, params = CASES[name]
    for k in KEYS[:50]:  # warm-up
        client.generate_presigned_url(operation, Params=params(k), ExpiresIn=3600)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for k in KEYS[:64]:
            client.generate_presigned_url(operation, Params=params(k), ExpiresIn=3600)
        count += 64
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    return f"sign.{name} urls_per_s={int(rate)} ns_per_url={int(1e9 / rate)} urls={count} seconds={elapsed:.3f}"


def main() -> None:
    client = make_client()
    if sys.argv[1:] == ["--serve"]:
        for line in sys.stdin:
            name, seconds = line.split()
            print(measure(client, name, float(seconds)), flush=True)
        return
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    for name in CASES:
        print(measure(client, name, seconds))


if __name__ == "__main__":
    main()
