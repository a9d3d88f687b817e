"""The audit trail in the daemon's real log output (stderr): one line per decision with its
fields, the reuse tripwire at warning, keys with control characters escaped so that one event is
one line, and neither the URL nor its signature anywhere — in the text and the JSON format."""

import json
import os
import re
import select
import time
import urllib.request

import pytest

from support import Presignd, wait_for

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDE2E00001", "secret_access_key": "e2e-secret-key/for+tests",
}
CLIENTS = {"svc": {"secret": "svc-secret-0123456789abcdef012345", "roles": ["issue", "gateway", "admin"]}}
# A newline that would fake a second log line, and a bidirectional override that would reorder it.
KEY = "evil\naudit=consume outcome=OK \u202e.pdf"


def log_with(daemon, needle: str) -> str:
    """The daemon's log once `needle` (its last expected line) is in it: lines reach stderr from
    presignd's log writer shortly after the request that caused them."""
    wait_for(lambda: needle in daemon.log_text(), 10, f"the log line with {needle}")
    return daemon.log_text()


def exercise(daemon):
    c = daemon.client("svc")
    record = c.execute_command("ISSUE", "GET", "bkt", KEY, "USES", "1")
    if isinstance(record, dict):
        fields = {k.decode(): v for k, v in record.items()}
    else:
        fields = {record[i].decode(): record[i + 1] for i in range(0, len(record), 2)}
    token_id, url = fields["id"].decode(), fields["url"].decode()
    origin = url[len("http://127.0.0.1:8080"):]
    request = urllib.request.Request(f"http://127.0.0.1:{daemon.http_port}/v1/authorize",
                                     headers={"X-Original-Method": "GET", "X-Original-URI": origin})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    with pytest.raises(Exception, match="USED"):
        c.execute_command("CONSUME", url)
    assert c.execute_command("REVOKE", "OBJECT", "bkt", KEY) == 0
    return token_id, url


def test_text_format(redis_server):
    daemon = Presignd(redis_server, CLIENTS, PROFILE, http=True)
    try:
        token_id, url = exercise(daemon)
        log = log_with(daemon, "audit=revoke")
    finally:
        daemon.stop()
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    assert signature not in log and url not in log and "X-Amz-" not in log
    lines = log.splitlines()
    audit = [line for line in lines if " audit audit=" in line]
    assert [line.split(" audit=", 1)[1].split()[0] for line in audit] == ["issue", "consume", "consume", "revoke"]
    issue, allowed, reused, revoke = audit
    escaped = '"evil\\naudit=consume outcome=OK \\u{202e}.pdf"'
    assert f"key={escaped}" in issue and f"token.id={token_id}" in issue and "client.id=svc" in issue
    assert " info " in allowed and "client.id=http:127.0.0.1" in allowed and "outcome=OK" in allowed
    # The allowed consume names its object too (from the token's record), escaped the same way.
    assert f"key={escaped}" in allowed
    assert " warning " in reused and "tripwire=reused-url" in reused and "outcome=USED" in reused
    assert "client.id=svc" in reused and f"token.id={token_id}" in reused
    # The denial names the object too: the URL verified, and its path says which.
    assert f"key={escaped}" in reused and "bucket=bkt" in reused
    assert f"key={escaped}" in revoke and "revoked.count=0" in revoke
    # Every line is one event: the key's newline never started a line of its own.
    assert all(line[:4].isdigit() and line[10] == "T" for line in lines if line)
    assert "\u202e" not in log


def test_json_format(redis_server):
    daemon = Presignd(redis_server, CLIENTS, PROFILE, http=True, args=["--log-format", "json"])
    try:
        token_id, url = exercise(daemon)
        log = log_with(daemon, '"audit":"revoke"')
    finally:
        daemon.stop()
    assert url.rsplit("X-Amz-Signature=", 1)[1] not in log
    events = [json.loads(line) for line in log.splitlines() if line]
    audit = [e for e in events if e["msg"] == "audit"]
    assert [(e["audit"], e["outcome"], e["level"]) for e in audit] == [
        ("issue", "OK", "info"), ("consume", "OK", "info"), ("consume", "USED", "warning"), ("revoke", "OK", "info")]
    assert audit[0]["key"] == KEY and audit[0]["token.id"] == token_id
    assert audit[1]["key"] == KEY and audit[2]["key"] == KEY and audit[2]["bucket"] == "bkt"
    assert audit[2]["tripwire"] == "reused-url"
    assert "\u202e" not in log and "\\u202e" in log


def test_tripwires_only(redis_server):
    """`--audit tripwires`: the info lines go, the reuse warning stays."""
    daemon = Presignd(redis_server, CLIENTS, PROFILE, http=True, args=["--audit", "tripwires"])
    try:
        exercise(daemon)
        log = log_with(daemon, "tripwire=reused-url")
    finally:
        daemon.stop()
    audit = [line for line in log.splitlines() if " audit audit=" in line]
    assert len(audit) == 1 and "tripwire=reused-url" in audit[0] and " warning " in audit[0]


def test_stalled_log_reader_delays_no_request(redis_server):
    """A log reader that stops reading (stderr a pipe nobody drains) delays no request: the lines
    wait in presignd's bounded buffer, and every one arrives once the reader reads again."""
    read_end, write_end = os.pipe()
    daemon = Presignd(redis_server, CLIENTS, PROFILE, output=write_end)
    os.close(write_end)
    try:
        # Far more audit lines than a pipe holds (64 KiB): were the log written on the event loop,
        # the daemon would block on the full pipe and these calls would time out.
        c = daemon.client("svc", socket_timeout=10)
        count = 1500
        for i in range(count):
            c.execute_command("ISSUE", "GET", "bkt", f"stalled/{i}", "USES", "1", "TTL", "60")
        assert c.execute_command("PING") in (b"PONG", True)

        received = b""
        deadline = time.monotonic() + 20
        while received.count(b"audit=issue") < count and time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], 0.5)
            if ready:
                received += os.read(read_end, 1 << 16)
        assert received.count(b"audit=issue") == count
        assert b"log lines dropped" not in received
    finally:
        daemon.stop()
        os.close(read_end)


def test_lines_beyond_the_buffer_are_dropped_counted_and_reported(redis_server):
    """A reader that stops reading for longer: beyond presignd's 8 MiB buffer lines are dropped, never
    waited for; /metrics counts them, and once the reader reads again a notice says how many."""
    read_end, write_end = os.pipe()
    daemon = Presignd(redis_server, CLIENTS, PROFILE, output=write_end, http=True)
    os.close(write_end)
    try:
        c = daemon.client("svc", socket_timeout=30)
        # Each audit line carries the 1,000-byte key: 10,000 ISSUEs are over 10 MB of lines. Sent in
        # pipelines of 200, so that the replies are read as they come.
        for first in range(0, 10000, 200):
            pipe = c.pipeline(transaction=False)
            for i in range(first, first + 200):
                pipe.execute_command("ISSUE", "GET", "bkt", f"{i:05d}" + "k" * 995, "USES", "1", "TTL", "60")
            assert len(pipe.execute()) == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.http_port}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
        dropped = int(re.search(r"^presignd_log_lines_dropped_total (\d+)$", metrics, re.M).group(1))
        assert 0 < dropped < 10000

        received = b""
        deadline = time.monotonic() + 30
        while b"log lines dropped" not in received and time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], 0.5)
            if ready:
                received += os.read(read_end, 1 << 20)
        notice = re.search(rb"log lines dropped[^\n]* dropped=(\d+)", received)
        assert notice and int(notice.group(1)) == dropped
    finally:
        daemon.stop()
        os.close(read_end)
