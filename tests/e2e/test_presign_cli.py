"""`presignd presign` against botocore itself, in the same process run: the URL must be the one
botocore's generate_presigned_url makes for the same inputs and the same instant, byte for byte.
(The 64 vectors in the Swift tests pin the rules; this checks what they do not cover.)"""

import datetime
import os
import subprocess
from unittest import mock

import botocore.auth
import botocore.session
import pytest
from botocore.config import Config

from support import presignd_binary

ACCESS_KEY = "AKIAPRESIGNDCLI00001"
SECRET_KEY = "cli-secret-key/for+tests"
AT = datetime.datetime(2026, 7, 15, 12, 30, 45)
AT_TEXT = AT.strftime("%Y%m%dT%H%M%SZ")


def botocore_url(region, style, bucket, key, params=None, expires=600):
    session = botocore.session.Session()
    client = session.create_client(
        "s3", region_name=region, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}))
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=AT):
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key, **(params or {})}, ExpiresIn=expires)


def presignd_url(region, style, bucket, key, *extra, expires=600):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    env.pop("AWS_SESSION_TOKEN", None)
    out = subprocess.run(
        [presignd_binary(), "presign", "GET", bucket, key, "--region", region, "--addressing", style,
         "--expires", str(expires), "--at", AT_TEXT, *extra], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


# Each partition has its own domain (China's is amazonaws.com.cn): the host is signed, so a URL
# for the wrong domain does not even reach the right S3.
@pytest.mark.parametrize("region", [
    "eu-west-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1", "us-iso-east-1", "us-isob-east-1",
    "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1"])
@pytest.mark.parametrize("style", ["virtual", "path"])
def test_each_partition_signs_for_its_own_domain(region, style):
    assert presignd_url(region, style, "examplebucket", "dir/k.txt") == \
        botocore_url(region, style, "examplebucket", "dir/k.txt")


def test_aws_global_is_refused_naming_the_region_to_use():
    out = subprocess.run([presignd_binary(), "presign", "GET", "examplebucket", "k", "--region", "aws-global"],
                         capture_output=True, text=True,
                         env={**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
    assert out.returncode != 0 and "use us-east-1" in out.stderr


# NAME=VALUE splits at the first '=' whatever follows it: a combining mark after it made one
# character with it, and the parameter was refused or signed under a wrong name.
@pytest.mark.parametrize("value", ["\u0301x", "\u0301x=y", "a=b=c"])
def test_a_parameter_splits_at_its_first_equals_sign(value):
    assert presignd_url("eu-west-1", "path", "examplebucket", "k", "--param", f"response-content-type={value}") == \
        botocore_url("eu-west-1", "path", "examplebucket", "k", params={"ResponseContentType": value})


def test_the_readme_example_verifies_and_a_repeated_header_is_joined_as_s3_joins_it():
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
        env.pop(name, None)

    def run(*args):
        return subprocess.run([presignd_binary(), *args], capture_output=True, text=True, env=env)

    url = run("presign", "PUT", "my-bucket", "reports/q3.pdf", "--expires", "600", "--region", "eu-west-1",
              "--content-type", "application/pdf").stdout.strip()
    # The region comes from the URL's credential scope; the header as the client sends it.
    ok = run("verify", "PUT", url, "--header", "content-type=application/pdf")
    assert ok.returncode == 0 and ok.stdout.startswith("valid token_id="), ok.stdout + ok.stderr
    # Twice is one value joined by a comma, as S3 reads it: not the signed one, whatever the order.
    for values in (("text/html", "application/pdf"), ("application/pdf", "text/html")):
        twice = run("verify", "PUT", url, *[a for v in values for a in ("--header", f"content-type={v}")])
        assert twice.returncode == 1 and "bad_signature" in twice.stdout, twice.stdout


@pytest.mark.parametrize("args", [["presign", "GET", "bkt", b"a\xffb"], ["presign", "GET", "bkt", "k", "--param",
                                                                          b"versionId=\xff"]])
def test_an_argument_that_is_not_utf8_is_refused_not_signed_as_another(args):
    # Swift hands such an argument over with U+FFFD in place of the bad bytes: a key that was never
    # asked for would be signed.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    raw = [a if isinstance(a, bytes) else a.encode() for a in args]
    out = subprocess.run([presignd_binary().encode(), *raw], capture_output=True, env=env)
    position = next(i for i, a in enumerate(args) if isinstance(a, bytes)) + 1
    assert out.returncode == 64 and out.stdout == b""
    assert f"argument {position} is not valid UTF-8".encode() in out.stderr
