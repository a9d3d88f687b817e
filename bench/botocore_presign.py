#!/usr/bin/env python3
"""botocore generate_presigned_url on one thread, same inputs as `PresignBench sign`.

Prints lines shaped like PresignBench's: sign.<case> urls_per_s=N ...
"""
import sys
import time

import botocore.session
from botocore.config import Config


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    session = botocore.session.get_session()
    client = session.create_client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    keys = ["users/42/avatars/photo-%03d.jpg" % (i % 1000) for i in range(1024)]
    assert all(len(k.encode()) == 30 for k in keys)
    cases = [
        ("get_path", "get_object", lambda k: {"Bucket": "examplebucket", "Key": k}),
        ("put_content_type", "put_object",
         lambda k: {"Bucket": "examplebucket", "Key": k, "ContentType": "image/jpeg"}),
    ]
    for name, operation, params in cases:
        for k in keys[:50]:  # warm-up
            client.generate_presigned_url(operation, Params=params(k), ExpiresIn=3600)
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for k in keys[:64]:
                client.generate_presigned_url(operation, Params=params(k), ExpiresIn=3600)
            count += 64
        elapsed = time.perf_counter() - start
        rate = count / elapsed
        print(f"sign.{name} urls_per_s={int(rate)} ns_per_url={int(1e9 / rate)} urls={count} seconds={elapsed:.3f}")


if __name__ == "__main__":
    main()
