"""presignd serve through the clients users have: redis-cli, the Python Redis client and raw
sockets. Each test talks to a real daemon on a real redis-server."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis
import yaml

from support import (Presignd, RedisProc, free_port, presignctl_binary, presignd_binary, start_dev,
                     stop_process, wait_for)

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDE2E00001", "secret_access_key": "e2e-secret-key/for+tests",
}
CLIENTS = {
    "uploader": {"secret": "uploader-secret-0123456789abcdef", "roles": ["issue"], "buckets": ["bucket-a"],
                 "max_ttl": 3600, "max_uses": 10},
    "prefixed": {"secret": "prefixed-secret-0123456789abcdef", "roles": ["issue"], "key_prefixes": ["users/7/"],
                 "methods": ["PUT"]},
    "gateway": {"secret": "gateway-secret-0123456789abcdef0", "roles": ["gateway"]},
    "admin": {"secret": "admin-secret-0123456789abcdef012", "roles": ["admin"]},
}


@pytest.fixture(scope="module")
def daemon(redis_server):
    d = Presignd(redis_server, CLIENTS, PROFILE, limits={"max_connections": 200})
    yield d
    d.stop()


def as_record(fields):
    """A record reply: a map under RESP3, a flat name/value array under RESP2."""
    if isinstance(fields, dict):
        return {k.decode(): v for k, v in fields.items()}
    return {fields[i].decode(): fields[i + 1] for i in range(0, len(fields), 2)}


def issue(d, *args, cid="uploader"):
    return as_record(d.client(cid).execute_command("ISSUE", *args))


def test_redis_cli_issue_consume_consume_check(daemon):
    out = daemon.cli("uploader", "ISSUE", "GET", "bucket-a", "report.pdf", "TTL", "600", "USES", "1").splitlines()
    record = dict(zip(out[0::2], out[1::2]))
    token_id, url = record["id"], record["url"]
    assert len(token_id) == 22
    assert url.startswith("http://127.0.0.1:8080/bucket-a/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256")
    assert daemon.cli("gateway", "CONSUME", token_id) == "0"
    assert daemon.cli("gateway", "CONSUME", token_id).startswith("USED")
    check = daemon.cli("gateway", "CHECK", token_id).splitlines()
    fields = dict(zip(check[0::2], check[1::2]))
    assert fields["state"] == "spent" and fields["uses_left"] == "0" and fields["issuer"] == "uploader"


def test_aws_endpoint_with_a_gateway_signs_path_style(redis_server):
    """A profile on AWS's default endpoint (where `auto` addressing means virtual-hosted) with a
    gateway: its URLs keep the bucket in the path, and they verify."""
    profile = {k: v for k, v in PROFILE.items() if k != "endpoint"}
    d = Presignd(redis_server, {"uploader": CLIENTS["uploader"], "gateway": CLIENTS["gateway"]}, profile)
    try:
        url = issue(d, "GET", "bucket-a", "reports/q3.pdf")["url"].decode()
        assert url.startswith("http://127.0.0.1:8080/bucket-a/reports/q3.pdf?X-Amz-Algorithm=")
        assert d.client("gateway").execute_command("CONSUME", url) == 0
    finally:
        d.stop()


def test_aws_endpoint_without_a_gateway_url_targets_work(redis_server):
    """Without a gateway, a profile on AWS's endpoint signs virtual-hosted URLs (the bucket in the
    host); CHECK and CONSUME by such a URL verify it for that host."""
    profile = {k: v for k, v in PROFILE.items() if k not in ("endpoint", "public_base_url")}
    d = Presignd(redis_server, {"uploader": CLIENTS["uploader"], "gateway": CLIENTS["gateway"]}, profile)
    try:
        url = issue(d, "GET", "bucket-a", "reports/q3.pdf", "USES", "2")["url"].decode()
        assert url.startswith("https://bucket-a.s3.amazonaws.com/reports/q3.pdf?X-Amz-Algorithm=")
        gateway = d.client("gateway")
        assert as_record(gateway.execute_command("CHECK", url))["uses_left"] == 2
        assert gateway.execute_command("CONSUME", url) == 1
        with pytest.raises(redis.ResponseError, match="BADSIG"):
            gateway.execute_command("CONSUME", url.replace("bucket-a.", "bucket-b.", 1))
    finally:
        d.stop()


def test_python_client_by_url_origin_form_and_method(daemon):
    record = issue(daemon, "PUT", "bucket-a", "dir/a b.txt", "USES", "2")
    url = record["url"].decode()
    gw = daemon.client("gateway")
    origin_form = url[len("http://127.0.0.1:8080"):]
    assert gw.execute_command("CONSUME", url, "METHOD", "PUT") == 1
    with pytest.raises(redis.ResponseError, match="^MISMATCH"):
        gw.execute_command("CONSUME", url, "METHOD", "GET")
    assert gw.execute_command("CONSUME", origin_form) == 0
    with pytest.raises(redis.ResponseError, match="^USED"):
        gw.execute_command("CONSUME", url)
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    with pytest.raises(redis.ResponseError, match="^BADSIG"):
        gw.execute_command("CONSUME", tampered)
    assert gw.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None
    with pytest.raises(redis.ResponseError, match="^UNKNOWN"):
        gw.execute_command("CONSUME", "AAAAAAAAAAAAAAAAAAAAAA")


def test_python_client_reads_the_command_table(daemon):
    gw = daemon.client("gateway")
    table = gw.command()
    assert gw.command_count() == len(table) == 18
    assert table["consume"]["arity"] == -2 and table["commit"]["arity"] == 2
    assert table["auth"]["flags"] == ["no_auth"] and table["issue"]["flags"] == []
    # The roles that may run CHECK, as ACL categories (redis-py's parser leaves them out).
    assert daemon.cli("gateway", "COMMAND", "INFO", "check").split("\n")[6:8] == ["@gateway", "@admin"]
    assert gw.echo("are you there?") == b"are you there?"  # some clients check a connection with ECHO
    with pytest.raises(redis.ResponseError, match="^wrong number of arguments for 'commit' command: COMMIT lease$"):
        gw.execute_command("COMMIT", "lease", "extra")


def test_one_version_everywhere(daemon):
    version = subprocess.run([presignd_binary(), "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert subprocess.run([presignctl_binary(), "--version"], capture_output=True, text=True,
                          check=True).stdout.strip() == version
    assert daemon.cli("admin", "INFO", "server").split("\n")[1] == f"presignd_version:{version}"
    hello = daemon.client("admin").execute_command("HELLO", "2")
    assert hello[hello.index(b"version") + 1].decode() == version


def test_roles_and_scopes(daemon):
    with pytest.raises(redis.exceptions.NoPermissionError):
        daemon.client("uploader").execute_command("REVOKE", "TAG", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        issue(daemon, "GET", "bucket-b", "k")
    with pytest.raises(redis.exceptions.NoPermissionError, match="TTL 7200 exceeds"):
        issue(daemon, "GET", "bucket-a", "k", "TTL", "7200")
    with pytest.raises(redis.exceptions.NoPermissionError, match="USES 11 exceeds"):
        issue(daemon, "GET", "bucket-a", "k", "USES", "11")
    with pytest.raises(redis.exceptions.NoPermissionError):
        issue(daemon, "GET", "bucket-a", "k", cid="gateway")
    with pytest.raises(redis.exceptions.NoPermissionError):
        issue(daemon, "PUT", "any", "users/8/x", cid="prefixed")
    with pytest.raises(redis.exceptions.NoPermissionError):
        issue(daemon, "GET", "any", "users/7/x", cid="prefixed")
    assert issue(daemon, "PUT", "any", "users/7/x", cid="prefixed")["method"] == b"PUT"
    with pytest.raises(redis.exceptions.NoPermissionError):
        daemon.client("gateway").execute_command("REVOKE", "AAAAAAAAAAAAAAAAAAAAAA")


def test_authentication(daemon):
    anonymous = daemon.client()
    assert anonymous.ping() is True
    with pytest.raises(redis.exceptions.AuthenticationError, match="Authentication required"):
        anonymous.execute_command("CONSUME", "AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(redis.AuthenticationError):
        daemon.client(None, username="gateway", password="wrong").ping()
    assert "NOAUTH" in daemon.cli(None, "CHECK", "AAAAAAAAAAAAAAAAAAAAAA")


def test_a_secret_typed_as_the_id_is_not_logged(daemon):
    secret = CLIENTS["admin"]["secret"]
    with pytest.raises(redis.AuthenticationError):
        daemon.client(None, username=secret, password="admin").ping()  # AUTH <secret> admin
    with pytest.raises(redis.AuthenticationError):
        daemon.client(None, username="gateway", password="wrong").ping()
    wait_for(lambda: "authentication failed client.id=gateway" in daemon.log_text(), 10, "the failed AUTH's line")
    log = daemon.log_text()
    assert "authentication failed client.id=(unknown)" in log
    assert secret not in log


def test_a_scoped_admin_checks_and_revokes_only_within_its_scope(redis_server):
    clients = {
        "issuer": {"secret": "issuer-secret-0123456789abcdef0", "roles": ["issue"]},
        "alpha-admin": {"secret": "alpha-admin-secret-0123456789ab", "roles": ["admin"],
                        "buckets": ["alpha-bucket"], "key_prefixes": ["public/"]},
        "root": {"secret": "root-admin-secret-0123456789abcd", "roles": ["admin"]},
    }
    d = Presignd(redis_server, clients, PROFILE)
    try:
        admin = d.client("alpha-admin")
        mine = issue(d, "GET", "alpha-bucket", "public/a.txt", "TAG", "shared", cid="issuer")["id"]
        private = issue(d, "GET", "alpha-bucket", "private/b.txt", "TAG", "shared", cid="issuer")["id"]
        other = issue(d, "GET", "beta-bucket", "public/c.txt", "TAG", "shared", cid="issuer")["id"]
        # Outside its scope a token is as good as unknown to CHECK, and REVOKE is refused.
        assert as_record(admin.execute_command("CHECK", mine))["bucket"] == b"alpha-bucket"
        assert admin.execute_command("CHECK", other) is None
        assert admin.execute_command("CHECK", private) is None
        for target in (other, private):
            with pytest.raises(redis.exceptions.NoPermissionError):
                admin.execute_command("REVOKE", target)
        with pytest.raises(redis.exceptions.NoPermissionError):
            admin.execute_command("REVOKE", "OBJECT", "alpha-bucket", "private/b.txt")
        with pytest.raises(redis.exceptions.NoPermissionError):
            admin.execute_command("REVOKE", "TAG", "shared")
        assert admin.execute_command("REVOKE", mine) == 1
        # Within the scope it worked; outside it nothing was touched (an unscoped admin sees all).
        root = d.client("root")
        assert as_record(root.execute_command("CHECK", mine))["state"] == b"revoked"
        for untouched in (other, private):
            assert as_record(root.execute_command("CHECK", untouched))["state"] == b"active"
        assert root.execute_command("REVOKE", "TAG", "shared") == 2
    finally:
        d.stop()


def test_revoke_by_id_object_and_tag(daemon):
    a = issue(daemon, "GET", "bucket-a", "obj/one", "TAG", "campaign-7", "USES", "5")
    b = issue(daemon, "GET", "bucket-a", "obj/one", "TTL", "120")
    c = issue(daemon, "GET", "bucket-a", "obj/two", "TAG", "campaign-7")
    admin = daemon.client("admin")
    assert admin.execute_command("REVOKE", "OBJECT", "bucket-a", "obj/one") == 2
    assert admin.execute_command("REVOKE", "TAG", "campaign-7") == 1
    assert admin.execute_command("REVOKE", c["id"]) == 0
    for record in (a, b, c):
        with pytest.raises(redis.ResponseError, match="^REVOKED"):
            daemon.client("gateway").execute_command("CONSUME", record["id"])


def test_reserve_commit_release(daemon):
    record = issue(daemon, "GET", "bucket-a", "lease/obj", "USES", "1")
    gw = daemon.client("gateway")
    lease = gw.execute_command("RESERVE", record["id"], "LEASE", "5000")
    with pytest.raises(redis.ResponseError, match="^RESERVED"):
        gw.execute_command("CONSUME", record["id"])
    assert gw.execute_command("RELEASE", lease) == b"OK"
    lease = gw.execute_command("RESERVE", record["url"].decode())
    assert gw.execute_command("COMMIT", lease) == b"OK"
    with pytest.raises(redis.ResponseError, match="^USED"):
        gw.execute_command("RESERVE", record["id"])


def test_pipelined_requests_come_back_in_order(daemon):
    n = 500
    request = b"".join(b"*2\r\n$4\r\nPING\r\n$%d\r\n%s\r\n" % (len(str(i)), str(i).encode()) for i in range(n))
    # Interleave commands that wait for Redis with ones answered at once.
    request += b"AUTH gateway " + CLIENTS["gateway"]["secret"].encode() + b"\r\n"
    request += b"".join(b"CHECK AAAAAAAAAAAAAAAAAAAAA%d\r\nPING last%d\r\n" % (i % 10, i) for i in range(50))
    with socket.create_connection(("127.0.0.1", daemon.port)) as s:
        s.sendall(request)
        expected = b"".join(b"$%d\r\n%s\r\n" % (len(str(i)), str(i).encode()) for i in range(n))
        expected += b"+OK\r\n" + b"".join(b"$-1\r\n$%d\r\nlast%d\r\n" % (len(f"last{i}"), i) for i in range(50))
        received = b""
        s.settimeout(10)
        while len(received) < len(expected):
            chunk = s.recv(65536)
            assert chunk, "connection closed early"
            received += chunk
        assert received == expected


def test_a_request_split_across_reads_is_answered(daemon):
    def reply_to(pieces, size):
        with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
            for piece in pieces:
                s.sendall(piece)
                time.sleep(0.05)  # each piece arrives in a read of its own
            received = b""
            while len(received) < size:
                chunk = s.recv(65536)
                assert chunk, "connection closed early"
                received += chunk
            return received

    assert reply_to([b"PI", b"NG\r\n"], 7) == b"+PONG\r\n"
    assert reply_to([b"*2\r\n$4\r\nPING\r\n$3\r\nab", b"c\r\n"], 9) == b"$3\r\nabc\r\n"
    # A 60 KB argument in 4 KB pieces, as a client library writes one over a slow link (after AUTH:
    # before it, arguments are at most 16 KiB).
    argument = os.urandom(30000).hex().encode()
    auth = b"AUTH gateway " + CLIENTS["gateway"]["secret"].encode() + b"\r\n"
    request = auth + b"*2\r\n$4\r\nPING\r\n$%d\r\n%s\r\n" % (len(argument), argument)
    expected = b"+OK\r\n$%d\r\n%s\r\n" % (len(argument), argument)
    assert reply_to([request[i:i + 4096] for i in range(0, len(request), 4096)], len(expected)) == expected
    # redis-py sends a large value the same way.
    assert daemon.client("gateway").echo(argument) == argument


def read_until_closed(s) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def test_a_client_that_half_closes_gets_every_reply_it_is_owed(daemon):
    # As `printf ... | nc -N` does: send, shut down the sending side, read to the end.
    token = issue(daemon, "GET", "bucket-a", "half-close.txt", "USES", "2")["id"]
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        secret = CLIENTS["gateway"]["secret"].encode()
        s.sendall(b"AUTH gateway " + secret + b"\r\nCONSUME " + token + b"\r\nPING\r\nPI")
        s.shutdown(socket.SHUT_WR)
        # CONSUME waits for Redis; the unfinished `PI` is dropped, as Redis drops it.
        assert read_until_closed(s) == b"+OK\r\n:1\r\n+PONG\r\n"


def test_a_protocol_error_is_answered_after_the_replies_owed(daemon):
    token = issue(daemon, "GET", "bucket-a", "protocol-error.txt", "USES", "2")["id"]
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        secret = CLIENTS["gateway"]["secret"].encode()
        s.sendall(b"AUTH gateway " + secret + b"\r\nCONSUME " + token + b"\r\n*1\r\n$-5\r\n")
        assert read_until_closed(s) == b"+OK\r\n:1\r\n-ERR Protocol error: invalid bulk length\r\n"


def test_arguments_must_be_utf8_but_ping_and_echo_are_binary_safe(daemon):
    uploader = daemon.client("uploader")
    # Read leniently, \xff and \xfe would both be U+FFFD: two keys, one object.
    for key in (b"\xff", b"ok/\xfe\xff"):
        with pytest.raises(redis.ResponseError, match="key is not valid UTF-8"):
            uploader.execute_command("ISSUE", "GET", "bucket-a", key)
    assert issue(daemon, "GET", "bucket-a", "caf\u00e9.txt".encode())["url"].decode().count("caf%C3%A9.txt") == 1
    assert uploader.echo(b"\xff\xfe\x00") == b"\xff\xfe\x00"
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.sendall(b"*2\r\n$4\r\nPING\r\n$3\r\n\xff\xfe\x00\r\n")
        assert s.recv(100) == b"$3\r\n\xff\xfe\x00\r\n"


def test_a_transaction_is_refused_whole(daemon):
    token = issue(daemon, "GET", "bucket-a", "multi.txt", "USES", "3")["id"]
    gateway = daemon.client("gateway")
    # redis-py's default pipeline is a transaction: MULTI, the commands, EXEC. None may run.
    pipe = gateway.pipeline()
    pipe.execute_command("CONSUME", token)
    pipe.execute_command("CONSUME", token)
    with pytest.raises(redis.ResponseError, match="MULTI is not supported"):
        pipe.execute()
    assert as_record(daemon.client("admin").execute_command("CHECK", token))["uses_left"] == 3
    # Without a transaction, the same pipeline runs.
    pipe = gateway.pipeline(transaction=False)
    pipe.execute_command("CONSUME", token)
    assert pipe.execute() == [2]
    # DISCARD ends the refusal; EXEC and DISCARD alone are errors, as in Redis.
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        secret = CLIENTS["gateway"]["secret"].encode()
        s.sendall(b"AUTH gateway " + secret + b"\r\nMULTI\r\nCONSUME " + token + b"\r\nDISCARD\r\nCONSUME "
                  + token + b"\r\nEXEC\r\nQUIT\r\n")
        replies = read_until_closed(s).split(b"\r\n")
    assert replies[0] == b"+OK"
    assert replies[1].startswith(b"-ERR MULTI is not supported")
    assert replies[2].startswith(b"-ERR not run: it follows a MULTI")
    assert replies[3:7] == [b"+OK", b":1", b"-ERR EXEC without MULTI", b"+OK"]


@pytest.mark.parametrize("args, problem", [
    (["ISSUE", "GET", "bucket-a", "k", "TTL", "+5"], "TTL must be a whole number"),
    (["ISSUE", "GET", "bucket-a", "k", "TTL", "5", "TTL", "6"], "TTL is given twice"),
    (["ISSUE", "PUT", "bucket-a", "k", "CONTENT-TYPE", "a/b", "CONTENT-TYPE", "c/d"], "CONTENT-TYPE is given twice"),
    (["CLIENT", "SETINFO", "FOO", "bar"], "Unrecognized option 'FOO'"),
    (["HELLO", "+2"], "Protocol version is not an integer"),
])
def test_arguments_are_read_as_redis_reads_them(daemon, args, problem):
    with pytest.raises(redis.ResponseError, match=re.escape(problem)):
        daemon.client("uploader").execute_command(*args)


def test_sixteen_concurrent_clients_one_winner(daemon):
    for _ in range(20):
        url = issue(daemon, "PUT", "bucket-a", "race/obj")["url"].decode()
        results = []
        barrier = threading.Barrier(16)

        def attempt():
            client = daemon.client("gateway")
            client.ping()
            barrier.wait()
            try:
                results.append(client.execute_command("CONSUME", url))
            except redis.ResponseError as error:
                results.append(str(error).split()[0])

        threads = [threading.Thread(target=attempt) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(map(str, results)) == ["0"] + ["USED"] * 15


def test_hello_answers_as_redis_does(daemon):
    # Java's Lettuce reads HELLO's `id` as an integer (it casts it to Long) and `mode`, `version`
    # and `role` as strings; a string `id` failed every authenticated Lettuce connection.
    conn = daemon.client("gateway", protocol=3, single_connection_client=True)
    hello = conn.execute_command("HELLO", "3", "AUTH", "gateway", daemon.clients["gateway"]["secret"])
    assert isinstance(hello[b"id"], int) and hello[b"id"] > 0
    assert hello[b"client"] == b"gateway" and hello[b"proto"] == 3
    assert hello[b"mode"] == b"standalone" and hello[b"role"] == b"master"
    assert hello[b"roles"] == [b"gateway"]
    assert conn.execute_command("CLIENT", "ID") == hello[b"id"]
    other = daemon.client("gateway").execute_command("CLIENT", "ID")
    assert isinstance(other, int) and other != hello[b"id"]
    anonymous = daemon.client(protocol=2).execute_command("HELLO", "2")
    assert anonymous[anonymous.index(b"client") + 1] is None
    assert isinstance(anonymous[anonymous.index(b"id") + 1], int)
    assert daemon.client(protocol=3).execute_command("HELLO", "3")[b"client"] is None


def test_a_hello_answered_with_an_error_changes_nothing(daemon):
    """Every option is read before HELLO authenticates or switches protocol, as Redis does."""
    secret = daemon.clients["gateway"]["secret"]
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        for hello in (f"HELLO 2 AUTH gateway {secret} BOGUS", f"HELLO 3 AUTH gateway {secret} FOO",
                      f"HELLO 2 AUTH gateway {secret} SETNAME", f"HELLO 2 AUTH gateway {secret} AUTH gateway wrong"):
            sock.sendall(hello.encode() + b"\r\n")
            assert read_reply(sock).startswith((b"-ERR", b"-WRONGPASS")), hello
            sock.sendall(b"CHECK AAAAAAAAAAAAAAAAAAAAAA\r\n")
            assert read_reply(sock).startswith(b"-NOAUTH"), hello  # not logged in, still RESP2
        # The last AUTH of a HELLO whose options are all good is the one that counts.
        sock.sendall(f"HELLO 2 AUTH gateway wrong AUTH gateway {secret}\r\n".encode())
        assert read_reply(sock).startswith(b"*")
        sock.sendall(b"CHECK AAAAAAAAAAAAAAAAAAAAAA\r\n")
        assert read_reply(sock) == b"$-1\r\n"


def test_a_stranger_cannot_make_the_daemon_buffer_much(daemon):
    """Before AUTH a request has at most 10 arguments of 16 KiB (Redis's own bounds for such
    clients); after AUTH the configured 64 of 64 KiB."""
    secret = daemon.clients["gateway"]["secret"]
    refusals = (
        (b"*11\r\n", b"-ERR Protocol error: argument count 11 exceeds max-arguments before AUTH (10)"),
        (b"*2\r\n$16385\r\n", b"-ERR Protocol error: bulk length 16385 exceeds max-bulk-bytes before AUTH (16384)"),
        (b"x" * 16385, b"-ERR Protocol error: inline request exceeds max-inline-bytes before AUTH (16384)"),
    )
    for request, error in refusals:
        with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
            sock.sendall(request)
            assert read_reply(sock).startswith(error), request[:20]
            assert closed(sock)
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        sock.sendall(f"AUTH gateway {secret}\r\n".encode())
        assert read_reply(sock) == b"+OK\r\n"
        sock.sendall(b"*2\r\n$4\r\nECHO\r\n$65536\r\n" + b"e" * 65536 + b"\r\n")
        sock.settimeout(10)
        data = b""
        while len(data) < 65536 + 10:
            data += sock.recv(65536)
        assert data == b"$65536\r\n" + b"e" * 65536 + b"\r\n"
        sock.sendall(b"*12\r\n" + b"$4\r\nECHO\r\n" + b"$1\r\nx\r\n" * 11)
        assert read_reply(sock).startswith(b"-ERR wrong number of arguments for 'echo'")


def test_names_keywords_and_numbers_are_read_as_redis_reads_them(daemon):
    conn = daemon.client("uploader", single_connection_client=True)
    # ASCII letters only: dotless i (U+0131) and long s (U+017F) upper-case to I and S in Unicode.
    for name in ("\u0131ssue", "con\u017fume", "\u0131nfo"):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            conn.execute_command(name, "GET", "bucket-a", "names/x")
    # Integers as Redis's string2ll takes them: no leading zero, no sign but a minus.
    for ttl in ("0300", "+300", "-0"):
        with pytest.raises(redis.ResponseError, match="TTL"):
            conn.execute_command("ISSUE", "GET", "bucket-a", "names/x", "TTL", ttl)
    with pytest.raises(redis.ResponseError, match="Protocol version"):
        conn.execute_command("HELLO", "02")
    # Options that take one value are given once.
    record = issue(daemon, "GET", "bucket-a", "names/once")
    gateway = daemon.client("gateway")
    for command in (("CONSUME", record["id"], "METHOD", "GET", "METHOD", "GET"),
                    ("RESERVE", record["id"], "LEASE", "100000", "LEASE", "200000")):
        with pytest.raises(redis.ResponseError, match="is given twice"):
            gateway.execute_command(*command)
    with pytest.raises(redis.ResponseError, match="REASON is given twice"):
        daemon.client("admin").execute_command("REVOKE", record["id"], "REASON", "a", "REASON", "b")
    assert daemon.client("admin").execute_command("CHECK", record["id"])  # still there, unspent
    # MULTI, EXEC and DISCARD take no arguments.
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        sock.sendall(b"MULTI foo\r\n")
        assert read_reply(sock) == b"-ERR wrong number of arguments for 'multi' command\r\n"
        sock.sendall(b"PING\r\n")
        assert read_reply(sock) == b"+PONG\r\n"  # no transaction began


def test_resp3_after_hello_3(daemon):
    client = daemon.client("gateway", protocol=3)
    assert daemon.client("gateway", protocol=2).execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None
    record = issue(daemon, "GET", "bucket-a", "resp3/obj")
    check = client.execute_command("CHECK", record["id"])
    assert isinstance(check, dict) and check[b"state"] == b"active"


def read_reply(sock: socket.socket, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while not data.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data


def closed(sock: socket.socket, timeout: float = 5) -> bool:
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("payload, message", [
    (b"*1\r\n$1073741824\r\n", b"-ERR Protocol error: bulk length 1073741824 exceeds max-bulk-bytes"),
    (b"*100000\r\n", b"-ERR Protocol error: argument count 100000 exceeds max-arguments before AUTH (10)"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length"),
    (b"ISSUE \"unterminated\r\n", b"-ERR Protocol error: unbalanced quotes"),
    (b"\x00\xff*$" * 30000, b"-ERR Protocol error"),
])
def test_bad_framing_gets_an_error_and_a_closed_connection(daemon, payload, message):
    with socket.create_connection(("127.0.0.1", daemon.port)) as s:
        s.sendall(payload)
        reply = read_reply(s)
        assert reply.startswith(message), reply
        assert closed(s)
    assert daemon.client("gateway").ping()


def test_abusive_clients_do_not_stop_others_or_grow_memory(daemon):
    before = daemon.rss_kib()
    # A client that sends one byte per second of a request.
    slow = socket.create_connection(("127.0.0.1", daemon.port))
    # A client that pipelines a flood and never reads its replies.
    flood = socket.create_connection(("127.0.0.1", daemon.port))
    flood.setblocking(False)
    chunk = b"PING\r\n" * 10000
    sent = 0
    deadline = time.monotonic() + 5
    for i in range(5):
        slow.send(b"PING"[i % 4:i % 4 + 1])
        while time.monotonic() < deadline and sent < 50_000_000:
            try:
                sent += flood.send(chunk)
            except BlockingIOError:
                break
        started = time.monotonic()
        assert daemon.client("gateway").ping()
        assert time.monotonic() - started < 5, "another client waited more than 5 s: the flood starved it"
        time.sleep(0.2)
    growth = daemon.rss_kib() - before
    slow.close()
    flood.close()
    # Replies for a flood stop at the socket buffers: presignd stops reading from a client that
    # does not read. Tens of MiB sent must not become tens of MiB held.
    assert sent > 1_000_000
    assert growth < 32 * 1024, f"RSS grew by {growth} KiB after {sent} bytes from a client that never reads"


def test_check_config_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("clients:\n  - id: a\n    secret_sha256: 00\n    roles: [issue]\n")
    out = subprocess.run([presignd_binary(), "check-config", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "clients[0].secret_sha256" in out.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("listen:\n  tcpp: 127.0.0.1:1\n")
    out = subprocess.run([presignd_binary(), "check-config", str(typo)], capture_output=True, text=True)
    assert out.returncode != 0 and "listen.tcpp" in out.stderr and "unknown key" in out.stderr
    role = tmp_path / "role.yaml"
    role.write_text("clients:\n  - id: a\n    secret_sha256: " + "0" * 64 + "\n    roles: [isue]\n")
    out = subprocess.run([presignd_binary(), "check-config", str(role)], capture_output=True, text=True)
    assert out.returncode != 0 and "clients[0].roles" in out.stderr and "isue" in out.stderr


@pytest.mark.parametrize("redis_yaml, key, problem", [
    ("sentinels: ['127.0.0.1:26379']", "redis.master_name", "required with redis.sentinels"),
    ("sentinels: ['127.0.0.1:26379']\n  master_name: m\n  address: 127.0.0.1:6379", "redis.sentinels",
     "either sentinels or address/socket"),
    ("sentinels: ['127.0.0.1:26379']\n  master_name: m\n  socket: /tmp/r.sock", "redis.sentinels",
     "either sentinels or address/socket"),
    ("sentinels: []\n  master_name: m", "redis.sentinels", "at least one"),
    ("sentinels: ['127.0.0.1']\n  master_name: m", "redis.sentinels[0]", "host:port"),
    ("master_name: m", "redis.master_name", "only applies with redis.sentinels"),
    ("sentinel_password: hunter2", "redis.sentinel_password", "only applies with redis.sentinels"),
    ("sentinels: ['127.0.0.1:26379']\n  master_name: m\n  sentinel_password: a\n  sentinel_password_env: B",
     "sentinel_password_env", "give only one of"),
    ("wait_replicas: -1", "redis.wait_replicas", "0 (no wait) or more"),
    ("sentinel_timeout_ms: 100", "redis.sentinel_timeout_ms", "only applies with redis.sentinels"),
    ("sentinels: ['127.0.0.1:26379']\n  master_name: m\n  sentinel_timeout_ms: 0", "redis.sentinel_timeout_ms",
     "positive"),
])
def test_check_config_sentinel_keys(tmp_path, redis_yaml, key, problem):
    bad = tmp_path / "bad.yaml"
    bad.write_text("redis:\n  " + redis_yaml + "\n")
    out = subprocess.run([presignd_binary(), "check-config", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and key in out.stderr and problem in out.stderr, out.stderr
    assert "hunter2" not in out.stderr


def test_a_scoped_gateway_spends_only_tokens_within_its_scope(redis_server):
    clients = {
        "issuer": {"secret": "issuer-secret-0123456789abcdef0", "roles": ["issue"]},
        "alpha-gw": {"secret": "alpha-gw-secret-0123456789abcdef", "roles": ["gateway"],
                     "buckets": ["alpha-bucket"], "key_prefixes": ["public/"]},
        "gw": {"secret": "gw-secret-0123456789abcdef012345", "roles": ["gateway"]},
    }
    d = Presignd(redis_server, clients, PROFILE)
    try:
        scoped, gw = d.client("alpha-gw"), d.client("gw")
        mine = issue(d, "GET", "alpha-bucket", "public/a.txt", "USES", "3", cid="issuer")
        other = issue(d, "GET", "beta-bucket", "public/c.txt", "USES", "2", cid="issuer")
        private = issue(d, "GET", "alpha-bucket", "private/b.txt", "USES", "2", cid="issuer")
        assert scoped.execute_command("CONSUME", mine["id"]) == 2
        assert scoped.execute_command("CONSUME", mine["url"]) == 1
        lease = scoped.execute_command("RESERVE", mine["id"])
        assert scoped.execute_command("RELEASE", lease) == b"OK"
        # Outside the scope, by id or by URL: NOPERM, and nothing is spent or held.
        for target in (other["id"], other["url"], private["id"], private["url"]):
            for command in ("CONSUME", "RESERVE"):
                with pytest.raises(redis.exceptions.NoPermissionError, match=f"may not {command.lower()}"):
                    scoped.execute_command(command, target)
        foreign = gw.execute_command("RESERVE", other["id"]).decode()
        for command in ("COMMIT", "RELEASE"):
            with pytest.raises(redis.exceptions.NoPermissionError, match=f"may not {command.lower()}"):
                scoped.execute_command(command, foreign)
        assert as_record(gw.execute_command("CHECK", other["id"]))["uses_left"] == 1  # one held by the lease
        assert as_record(gw.execute_command("CHECK", private["id"]))["uses_left"] == 2
        assert gw.execute_command("COMMIT", foreign) == b"OK"
        # A token that does not exist is still UNKNOWN, not NOPERM.
        with pytest.raises(redis.exceptions.ResponseError, match="^UNKNOWN"):
            scoped.execute_command("CONSUME", "A" * 22)
        wait_for(lambda: d.log_text().count("outcome=NOPERM") >= 10, 10, "the NOPERM audit lines")
    finally:
        d.stop()


@pytest.mark.parametrize("yaml_text, key, problem", [
    # Kept in nanoseconds: a value past a year overflowed on the first connection and killed the daemon.
    ("limits:\n  idle_timeout_s: 10000000000\n", "limits.idle_timeout_s", "from 1 to 31536000"),
    ("redis:\n  address: 127.0.0.1:6379\n  socket: /tmp/r.sock\n", "redis.socket", "not both"),
    # YAML syntax errors say where (they said only "The given data was not valid YAML").
    ("listen:\n  tcp: \"127.0.0.1:7379\nclients: [\n", "not valid YAML: line 4, column 1",
     "while scanning a quoted scalar at line 2, column 8"),
    ("listen:\n  tcp: 127.0.0.1:1\n  tcp: 127.0.0.1:2\n", "not valid YAML", "duplicated key tcp in the mapping at line 2"),
    # The audit trail names HTTP callers http:<address>; a client so named would pass for one.
    ("clients:\n  - id: http:10.0.0.7\n    secret_sha256: " + "ab" * 32 + "\n    roles: [gateway]\n",
     "clients[0].id", "must not start with http:"),
    # Each of these ended up in every URL issued: a bucket taken for the host, a fragment, credentials.
    *[(f"profiles:\n  - name: p\n    region: us-east-1\n    access_key_id: AKIAPRESIGNDE2E00001\n"
       f"    secret_access_key: x\n    public_base_url: '{base}'\n", "profiles[0].public_base_url", "no path")
      for base in ("https://", "https://files.example.com#frag", "https://user:pa55@files.example.com",
                   "https://files.example.com:99999", "https://files.example.com:0", "ftp://files.example.com",
                   "https://files.example.com/sub")],
])
def test_check_config_refuses(tmp_path, yaml_text, key, problem):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml_text)
    out = subprocess.run([presignd_binary(), "check-config", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and key in out.stderr and problem in out.stderr, out.stderr


def test_a_yaml_error_never_quotes_the_line(tmp_path):
    # Yams' own message quotes the offending line, which here holds a secret.
    bad = tmp_path / "bad.yaml"
    bad.write_text('profiles:\n  - name: "p\n    secret_access_key: "TOPSECRET-0123456789\n')
    out = subprocess.run([presignd_binary(), "check-config", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and "not valid YAML: line 3, column" in out.stderr, out.stderr
    assert "TOPSECRET" not in out.stdout + out.stderr


def test_check_config_and_the_daemon_warn_of_what_is_valid_but_risky(tmp_path, redis_server):
    # Every local user can reach this file: /tmp and the directory let others through.
    shared = Path(tempfile.mkdtemp(prefix="presignd-shared-", dir="/tmp"))
    shared.chmod(0o755)
    secret = shared / "s3-secret"
    secret.write_text("risky-secret\n")
    secret.chmod(0o644)
    config = tmp_path / "risky.yaml"
    config.write_text(yaml.safe_dump({
        "listen": {"tcp": "0.0.0.0:7379", "open": True, "unix": str(tmp_path / "p.sock"), "unix_open": True,
                   "unix_mode": "0666"},
        "profiles": [
            {"name": "expired", "region": "us-east-1", "access_key_id": "AKIAPRESIGNDWARN0001",
             "secret_access_key_file": str(secret), "public_base_url": "https://files.example.com",
             "credentials_expire_at": "2020-01-01T00:00:00Z"},
            {"name": "direct", "region": "us-east-1", "access_key_id": "AKIAPRESIGNDWARN0002",
             "secret_access_key": "x"},
        ],
    }))
    out = subprocess.run([presignd_binary(), "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 5, out.stdout
    for expected in ("listen.open: the TCP listener on 0.0.0.0", "listen.unix_mode 0666",
                     "profiles[0].credentials_expire_at: 2020-01-01T00:00:00Z is past",
                     f"profiles[0].secret_access_key_file: {secret} can be read by every local user",
                     "profiles[1].public_base_url is not set"):
        assert any(expected in w for w in warnings), (expected, warnings)
    assert "risky-secret" not in out.stdout + out.stderr
    # The same file where only its owner can go (pytest's own directories are 0700) is not exposed.
    hidden = tmp_path / "s3-secret"
    shutil.move(secret, hidden)
    shared.rmdir()
    config.write_text(config.read_text().replace(str(secret), str(hidden)))
    out = subprocess.run([presignd_binary(), "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0 and "can be read by every local user" not in out.stdout, out.stdout
    assert len([line for line in out.stdout.splitlines() if line.startswith("warning: ")]) == 4
    # One client's full pipeline would overflow the Redis connection: UNAVAILABLE with Redis fine.
    # A warning: earlier samples had 1000 against 1024, and such a file must still start.
    inflight = tmp_path / "inflight.yaml"
    inflight.write_text("listen:\n  open: true\nredis:\n  max_in_flight: 1000\n")
    out = subprocess.run([presignd_binary(), "check-config", str(inflight)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "warning: redis.max_in_flight (1000) is below limits.max_pipelined (1024)" in out.stdout
    # WAIT must end before the command's deadline, which would close the Redis connection.
    replicas = tmp_path / "replicas.yaml"
    replicas.write_text("listen:\n  open: true\nredis:\n  wait_replicas: 1\n  wait_replicas_timeout_ms: 1000\n")
    out = subprocess.run([presignd_binary(), "check-config", str(replicas)], capture_output=True, text=True)
    assert "warning: redis.wait_replicas_timeout_ms (1000) is not below redis.command_timeout_ms (1000)" in out.stdout
    # A configuration with neither profiles nor clients (and no open listener) says so.
    empty = tmp_path / "empty.yaml"
    empty.write_text("listen:\n  tcp: 127.0.0.1:7379\n")
    out = subprocess.run([presignd_binary(), "check-config", str(empty)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert [line for line in out.stdout.splitlines() if line.startswith("warning: ")] == [
        "warning: profiles: none: every ISSUE is refused",
        "warning: clients: none, and no listener is open: nobody can authenticate"]
    # The daemon logs the same warnings when it starts.
    d = Presignd(redis_server, dict(CLIENTS), {k: v for k, v in PROFILE.items() if k != "public_base_url"})
    try:
        assert d.client("gateway").ping()
        wait_for(lambda: "configuration warning" in d.log_text(), 10, "the warning line")
        assert "profiles[0].public_base_url is not set" in d.log_text()
    finally:
        d.stop()


def test_log_level_takes_warn_and_refuses_unknown_names(redis_server):
    out = subprocess.run([presignd_binary(), "serve", "--log-level", "verbose", "--config", "/nonexistent"],
                         capture_output=True, text=True)
    assert out.returncode == 64 and "'verbose' is invalid for '--log-level" in out.stderr
    # `warn` is warning: the info lines (here, the start-up ones) are not written.
    d = Presignd(redis_server, dict(CLIENTS), PROFILE, args=["--log-level", "warn"])
    try:
        assert d.client("gateway").ping()
        assert " info " not in d.log_text()
    finally:
        d.stop()


def test_environment_says_where_redis_is_in_place_of_the_file(redis_server):
    # The file names a socket; PRESIGND_REDIS_ADDRESS replaces it (it was ignored: the socket won).
    d = Presignd(redis_server, dict(CLIENTS), PROFILE,
                 redis_config={"address": None, "socket": "/nonexistent/redis.sock"},
                 env={"PRESIGND_REDIS_ADDRESS": f"127.0.0.1:{redis_server.port}"})
    try:
        assert d.client("gateway").execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None
    finally:
        d.stop()


def test_check_config_accepts_sentinels(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("redis:\n  sentinels: ['127.0.0.1:26379', '[::1]:26380']\n  master_name: m\n"
                    "  sentinel_username: watcher\n  sentinel_password_env: PRESIGND_TEST_SENTINEL_PASSWORD\n"
                    "  wait_replicas: 1\n  wait_replicas_timeout_ms: 100\n  sentinel_timeout_ms: 250\n")
    out = subprocess.run([presignd_binary(), "check-config", str(good)], capture_output=True, text=True,
                         env={"PRESIGND_TEST_SENTINEL_PASSWORD": "s3cret-sentinel"})
    assert out.returncode == 0, out.stderr
    assert "s3cret-sentinel" not in out.stdout + out.stderr


def test_sighup_reload_keeps_connections_and_sigterm_drains(redis_server):
    d = Presignd(redis_server, dict(CLIENTS), PROFILE)
    try:
        kept = d.client("gateway")
        assert kept.ping()
        d.clients["late"] = {"secret": "late-secret-0123456789abcdef0123", "roles": ["admin"]}
        d.config["clients"].append({"id": "late", "secret_sha256": __import__("support").sha256_hex(
            d.clients["late"]["secret"]), "roles": ["admin"]})
        d.write_config()
        d.proc.send_signal(1)  # SIGHUP
        deadline = time.monotonic() + 5
        while True:
            try:
                d.client("late").execute_command("INFO")
                break
            except redis.exceptions.AuthenticationError:
                assert time.monotonic() < deadline, "the reloaded client was not accepted"
                time.sleep(0.1)
        assert kept.ping()
        # Listener settings are made once, at start: a reload that changes them says which.
        d.config["listen"]["open"] = True
        d.config["limits"]["max_connections"] = 7
        d.config["limits"]["max_bulk_bytes"] = 1000
        d.config["redis"]["command_timeout_ms"] = 1234
        d.write_config()
        d.proc.send_signal(1)
        wait_for(lambda: "take effect only after a restart" in d.log_text(), 10, "the reload's warning")
        line = next(l for l in d.log_text().splitlines() if "take effect only after a restart" in l)
        # Each key by its own name, not its group's ("redis", "limits (request size)").
        assert 'settings="limits.max_bulk_bytes, limits.max_connections, listen.open, redis.command_timeout_ms"' \
            in line, line
        with pytest.raises(redis.exceptions.AuthenticationError):
            d.client().execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA")  # still closed
        d.proc.send_signal(15)
        assert d.proc.wait(timeout=15) == 0
    finally:
        d.stop()


def test_clients_pipelining_through_a_shutdown_get_every_reply_to_what_ran(redis_server):
    d = Presignd(redis_server, dict(CLIENTS), PROFILE)
    try:
        secret = CLIENTS["uploader"]["secret"].encode()
        received = {n: [] for n in range(4)}

        def client(n):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"AUTH uploader " + secret + b"\r\n")

            def read():
                try:
                    while chunk := s.recv(65536):
                        received[n].append(chunk)
                except OSError as error:  # a reset ends it here, replies in flight lost
                    received[n].append(b"<" + repr(error).encode() + b">")

            reader = threading.Thread(target=read)
            reader.start()
            sent = 0
            try:
                while d.proc.poll() is None and sent < 200_000:
                    s.sendall(b"".join(b"ISSUE GET bucket-a drain/%d/%d\r\n" % (n, sent + i) for i in range(50)))
                    sent += 50
            except OSError:
                pass  # presignd closed its side
            reader.join(10)
            s.close()

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for c in clients:
            c.start()
        time.sleep(1)
        d.proc.send_signal(15)  # SIGTERM while requests keep coming
        for c in clients:
            c.join(20)
        assert d.proc.wait(timeout=15) == 0
        data = b"".join(b"".join(chunks) for chunks in received.values())
        issued = len(re.findall(rb"\*12\r\n\$2\r\nid\r\n", data))
        audited = len(re.findall(r"audit=issue .*outcome=OK", d.log_text()))
        # Every ISSUE that ran (audited OK) was answered: none lost to a reset.
        assert issued == audited and issued > 0, (issued, audited)
        assert b"<" not in b"".join(chunks[-1] for chunks in received.values() if chunks)
    finally:
        d.stop()


def test_a_second_sigterm_ends_the_drain_at_once(redis_server):
    d = Presignd(redis_server, dict(CLIENTS), PROFILE, http=True)
    try:
        # A request whose body is still coming: the drain waits for it (up to 10 s).
        slow = socket.create_connection(("127.0.0.1", d.http_port), timeout=5)
        slow.sendall(b"POST /v1/authorize HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n0123456789")
        time.sleep(0.5)  # for the daemon to read it
        first = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "shutting down" in d.log_text(), 5, "the first SIGTERM")
        time.sleep(1)
        assert d.proc.poll() is None, "presignd stopped without waiting for the request in flight"
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(timeout=5) == 0
        assert time.monotonic() - first < 8
        assert closed(slow)
        assert "closing every connection now" in d.log_text()
    finally:
        d.stop()


def test_info_counts_connected_clients(redis_server):
    d = Presignd(redis_server, dict(CLIENTS), PROFILE)
    try:
        def connected(count):
            return d.cli("admin", "INFO", "clients").split("\n")[1] == f"connected_clients:{count}"

        wait_for(lambda: connected(1), 5, "only the asking connection")  # as Redis counts it
        held = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(3)]
        wait_for(lambda: connected(4), 5, "three more connections counted")
        for sock in held:
            sock.close()
        wait_for(lambda: connected(1), 5, "the three closed")
    finally:
        d.stop()


def test_info_command_counts_parse_with_redis_py(redis_server):
    d = Presignd(redis_server, dict(CLIENTS), PROFILE)
    try:
        token = issue(d, "GET", "bucket-a", "info.txt")["id"]
        gateway = d.client("gateway")
        assert gateway.execute_command("CONSUME", token) == 0
        with pytest.raises(redis.ResponseError, match="USED"):
            gateway.execute_command("CONSUME", token)
        stats = d.client("admin").info("commands")
        assert stats["cmdstat_consume"] == {"calls": 2, "OK": 1, "USED": 1}
        assert stats["cmdstat_issue"] == {"calls": 1, "OK": 1}
    finally:
        d.stop()


def test_full_pipelines_of_several_clients_are_all_served(redis_server):
    # Each client may have max_pipelined (1,024) requests in flight; with the defaults, a few such
    # clients at once must not be answered UNAVAILABLE while Redis is fine. Redis is held still for
    # a moment so that every request is in flight at once (a long command timeout keeps that
    # moment, and a slow machine, from counting as Redis not answering).
    d = Presignd(redis_server, CLIENTS, PROFILE, redis_config={"command_timeout_ms": 10000})
    try:
        token = issue(d, "GET", "bucket-a", "pipelined", "USES", "5")["id"]
        outcomes = []

        def pipeline():
            pipe = d.client("gateway").pipeline(transaction=False)
            for _ in range(1024):
                pipe.execute_command("CHECK", token)
            replies = pipe.execute(raise_on_error=False)
            outcomes.extend("record" if isinstance(r, dict) else str(r) for r in replies)

        threads = [threading.Thread(target=pipeline) for _ in range(3)]
        redis_server.pause()
        try:
            for t in threads:
                t.start()
            time.sleep(0.5)
        finally:
            redis_server.resume()
        for t in threads:
            t.join()
        assert len(outcomes) == 3 * 1024
        assert set(outcomes) == {"record"}, {o for o in outcomes if o != "record"}
    finally:
        d.stop()


def test_connection_limit_and_idle_timeout(redis_server):
    d = Presignd(redis_server, dict(CLIENTS), PROFILE, limits={"max_connections": 3, "idle_timeout_s": 1})
    try:
        # The start-up probe's connection counts until presignd has seen it close: take the three
        # slots once they are all free.
        deadline = time.monotonic() + 10
        while True:
            held = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(3)]
            for s in held:
                s.sendall(b"PING\r\n")
            replies = [read_reply(s) for s in held]
            if all(reply == b"+PONG\r\n" for reply in replies):
                break
            for s in held:
                s.close()
            assert time.monotonic() < deadline, f"three connections were never served: {replies}"
            time.sleep(0.1)
        extra = socket.create_connection(("127.0.0.1", d.port))
        assert read_reply(extra).startswith(b"-ERR max number of clients reached")
        assert closed(extra)
        # Idle connections are closed after idle_timeout_s.
        assert all(closed(s, timeout=5) for s in held)
    finally:
        d.stop()


def test_unix_socket_open_listener(redis_server, tmp_path):
    path = str(tmp_path / "presignd.sock")
    d = Presignd(redis_server, dict(CLIENTS), PROFILE, listen={"unix": path, "unix_open": True, "unix_mode": "0600"})
    try:
        client = redis.Redis(unix_socket_path=path)
        record = as_record(client.execute_command("ISSUE", "GET", "any-bucket", "via-unix"))
        assert client.execute_command("CONSUME", record["id"]) == 0
        # The TCP listener still requires AUTH.
        with pytest.raises(redis.exceptions.AuthenticationError, match="Authentication required"):
            d.client().execute_command("CHECK", record["id"])
    finally:
        d.stop()


def test_a_second_daemon_leaves_a_running_one_its_unix_socket(redis_server, tmp_path):
    path = str(tmp_path / "presignd.sock")
    first = Presignd(redis_server, dict(CLIENTS), PROFILE, listen={"unix": path, "unix_open": True})
    try:
        second = Presignd(redis_server, dict(CLIENTS), PROFILE, listen={"unix": path}, wait=False)
        try:
            assert second.proc.wait(timeout=20) != 0
            assert f"listen.unix {path}: another process is listening on it" in second.log_text()
        finally:
            second.stop()
        # The first one's socket is still there and still its own (it used to be unlinked).
        assert redis.Redis(unix_socket_path=path).ping()
    finally:
        first.stop()
    assert not os.path.exists(path)
    # A socket file nobody listens on (left by a crash) is replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    third = Presignd(redis_server, dict(CLIENTS), PROFILE, listen={"unix": path, "unix_open": True})
    try:
        assert redis.Redis(unix_socket_path=path).ping()
    finally:
        third.stop()


def test_redis_cli_interactive_session(daemon):
    """An interactive redis-cli works against presignd; its help and typing hints come from
    presignd's answer to COMMAND DOCS (asked at start)."""
    import pexpect

    from support import find
    cli = pexpect.spawn(find("redis-cli"), ["-p", str(daemon.port), "--user", "admin", "--pass",
                                            CLIENTS["admin"]["secret"], "--no-auth-warning"],
                        encoding="utf-8", timeout=10)
    try:
        cli.expect(r"127\.0\.0\.1:\d+> ")
        cli.send("PING\r")  # Enter is CR in the line editor
        cli.expect("PONG")
        cli.send("help ISSUE\r")
        cli.expect(re.escape("ISSUE\x1b[0m \x1b[90mGET|PUT|HEAD|DELETE bucket key [TTL seconds] [USES count] "
                             "[CONTENT-TYPE value] [CONTENT-LENGTH bytes] [TAG tag [TAG tag ...]] "
                             "[PARAM name value [PARAM name value ...]] [PROFILE name]"))
        cli.expect("summary:.*Signs a presigned URL")
        cli.send("help @presignd\r")
        for line in ("CHECK\x1b[0m \x1b[90mtarget", "CONSUME\x1b[0m \x1b[90mtarget [METHOD method]",
                     "REVOKE\x1b[0m \x1b[90mtarget|OBJECT bucket key|TAG tag"):
            cli.expect(re.escape(line))
        cli.send("RESERVE ")  # the hint follows what is typed, in grey
        cli.expect(re.escape("target [METHOD method] [LEASE milliseconds]"))
        cli.send("\x15")  # Ctrl-U: clear the line
        cli.send("CHECK AAAAAAAAAAAAAAAAAAAAAA\r")
        cli.expect(r"\(nil\)")
        cli.send("REVOKE TAG nothing-tagged\r")
        cli.expect(r"\(integer\) 0")
        cli.send("INFO\r")
        cli.expect("presignd_version")
        cli.send("QUIT\r")
        cli.expect(pexpect.EOF)
    finally:
        cli.close(force=True)


def dev_redis(proc: subprocess.Popen) -> tuple[int, Path]:
    """The pid of dev mode's private redis-server, and its temporary directory (the Redis's `dir`)."""
    # Children are listed by the thread that started them: look at every thread.
    children = [pid for task in Path(f"/proc/{proc.pid}/task").iterdir()
                for pid in (task / "children").read_text().split()]
    pids = [int(pid) for pid in children if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(pids) == 1, f"children: {children}"
    directory = Path(f"/proc/{pids[0]}/cwd").resolve()
    assert directory.name == f"presignd-dev-{proc.pid}" and (directory / "redis.sock").exists()
    return pids[0], directory


def ended(pid: int) -> bool:
    """Whether process `pid` has exited (gone, or a zombie nobody reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def kill_if_running(pids):
    for pid in pids:  # never leave a Redis behind, even when a test failed
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_dev_mode_serves_the_http_authorize_endpoint_when_asked(tmp_path):
    import urllib.error
    import urllib.request
    port, http_port = free_port(), free_port()
    log = open(tmp_path / "dev.log", "wb")
    proc = start_dev(port, log, "--http-port", str(http_port))
    try:
        url = as_record(redis.Redis(port=port).execute_command("ISSUE", "GET", "demo-bucket", "hello.txt"))["url"]
        origin = "/" + url.decode().split("://", 1)[1].split("/", 1)[1]
        request = urllib.request.Request(f"http://127.0.0.1:{http_port}/v1/authorize",
                                         headers={"X-Original-Method": "GET", "X-Original-URI": origin})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(request, timeout=5)
        assert denied.value.code == 403
        assert f"HTTP authorize 127.0.0.1:{http_port}/v1/authorize" in (tmp_path / "dev.log").read_text()
    finally:
        stop_process(proc)
        log.close()


@pytest.mark.parametrize("args, problem", [
    (["--http-port", "70000"], "--http-port must be a TCP port, 1 to 65535 (got 70000)"),
    (["--port", "0"], "--port must be a TCP port, 1 to 65535 (got 0)"),
    (["--port", "7391", "--http-port", "7391"], "--http-port must differ from --port"),
])
def test_dev_mode_refuses_bad_ports_before_starting_anything(args, problem):
    out = subprocess.run([presignd_binary(), "dev", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and problem in out.stderr
    assert "redis" not in out.stdout + out.stderr.replace(problem, "")


def test_dev_mode_stops_on_ctrl_c_and_takes_its_redis_with_it(tmp_path):
    """Ctrl-C (SIGINT) ends `presignd dev` cleanly: exit status 0, its private redis-server
    stopped and its temporary directory removed, so nothing is left running."""
    log = open(tmp_path / "dev.log", "wb")
    proc = start_dev(free_port(), log)
    redis_pids = []
    try:
        redis_pid, directory = dev_redis(proc)
        redis_pids.append(redis_pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        wait_for(lambda: ended(redis_pid), 10, "redis-server stopped")
        assert not directory.exists()
    finally:
        stop_process(proc)
        kill_if_running(redis_pids)
        log.close()


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_dev_mode_removes_what_a_killed_dev_mode_left_running(tmp_path, reaped):
    """A dev-mode presignd killed with SIGKILL cannot stop its Redis; the next `presignd dev`
    finds the directory of a presignd that is gone, shuts that Redis down and removes it. Gone
    includes a zombie: killed, its status not yet collected by its parent (here, this test)."""
    log = open(tmp_path / "dev.log", "wb")
    first = start_dev(free_port(), log)
    redis_pids = []
    second = None
    directory = None
    try:
        orphan, directory = dev_redis(first)
        redis_pids.append(orphan)
        first.kill()
        if reaped:
            first.wait()
        time.sleep(0.2)
        assert not ended(orphan), "the killed presignd's Redis should still be running (the case under test)"
        second = start_dev(free_port(), log)
        redis_pids.append(dev_redis(second)[0])
        wait_for(lambda: ended(orphan), 10, "the orphaned redis-server stopped")
        assert not directory.exists()
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=20) == 0
    finally:
        stop_process(first)
        if second:
            stop_process(second)
        kill_if_running(redis_pids)
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
        log.close()


def test_a_url_that_signs_headers_is_a_line_protocol_target_by_its_id(daemon):
    # The line protocol carries the URL alone, not the request's Content-Type the URL signs, so its
    # signature cannot be checked there: the answer says to use the id (the HTTP endpoint has the
    # request's headers and takes the URL).
    record = issue(daemon, "PUT", "bucket-a", "signed/ct.png", "CONTENT-TYPE", "image/png", "USES", "2")
    url, token = record["url"].decode(), record["id"].decode()
    for cid, command in (("gateway", "CHECK"), ("gateway", "CONSUME")):
        with pytest.raises(redis.exceptions.ResponseError, match="^BADSIG .*content-type.*by its token id only"):
            daemon.client(cid).execute_command(command, url)
    assert daemon.client("gateway").execute_command("CONSUME", token) == 1


def test_key_prefixes_compare_bytes_not_canonically_equivalent_text(redis_server):
    # U+00C5 and A + U+030A are the same text to Swift's String comparison, but two S3 objects.
    clients = {"nordic": {"secret": "nordic-secret-0123456789abcdef01", "roles": ["issue"],
                          "key_prefixes": ["\u00c5/"]}}
    d = Presignd(redis_server, clients, PROFILE)
    try:
        issue(d, "GET", "bucket-a", "\u00c5/x.txt", cid="nordic")
        with pytest.raises(redis.exceptions.NoPermissionError):
            issue(d, "GET", "bucket-a", "A\u030a/x.txt", cid="nordic")
    finally:
        d.stop()
