"""Rotating a client secret with SIGHUP: the configuration lists the old and the new hash, both
secrets work, then the old hash is dropped and only sessions on the new secret carry on."""

import signal

import redis as redis_py

from support import Presignd, sha256_hex, subscribe_raw, wait_for

PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDE2E00001", "secret_access_key": "e2e-secret-key/for+tests",
}
OLD = "old-gateway-secret-0123456789abcdef"
NEW = "new-gateway-secret-0123456789abcdef"


def reload(daemon, hashes, marker_count):
    daemon.config["clients"][0]["secret_sha256"] = hashes
    daemon.write_config()
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.log_text().count("configuration reloaded") >= marker_count, 10, "the reload")


def test_rotate_with_overlap(redis_server):
    daemon = Presignd(redis_server, {"gw": {"secret": OLD, "roles": ["gateway"]}}, PROFILE)
    try:
        old_session = daemon.client("gw")
        assert old_session.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None

        reload(daemon, [sha256_hex(OLD), sha256_hex(NEW)], 1)
        new_session = redis_py.Redis(host="127.0.0.1", port=daemon.port, username="gw", password=NEW)
        assert new_session.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None
        assert old_session.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None

        reload(daemon, sha256_hex(NEW), 2)
        assert new_session.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA") is None
        try:
            old_session.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA")
            raise AssertionError("a session on the dropped secret kept working")
        except redis_py.exceptions.AuthenticationError:
            pass  # NOAUTH (redis-py may reconnect, and then the old secret gets WRONGPASS)
        fresh = redis_py.Redis(host="127.0.0.1", port=daemon.port, username="gw", password=OLD)
        try:
            fresh.execute_command("CHECK", "AAAAAAAAAAAAAAAAAAAAAA")
            raise AssertionError("the dropped secret still authenticates")
        except redis_py.exceptions.AuthenticationError:
            pass
    finally:
        daemon.stop()


def test_a_subscriber_whose_client_is_removed_stops_receiving_events(redis_server):
    clients = {"watcher": {"secret": OLD, "roles": ["admin"]}, "ops": {"secret": NEW, "roles": ["admin", "issue"]}}
    daemon = Presignd(redis_server, clients, PROFILE)
    try:
        s = subscribe_raw(daemon.port, "watcher", OLD)
        s.settimeout(10)
        # The reload removes the watcher; the next revocation must not reach it.
        daemon.config["clients"] = [c for c in daemon.config["clients"] if c["id"] != "watcher"]
        daemon.write_config()
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in daemon.log_text(), 10, "the reload")
        ops = daemon.client("ops")
        token = ops.execute_command("ISSUE", "GET", "bucket-b", "secret-object.txt")
        token_id = token[1] if isinstance(token, list) else token[b"id"]
        assert ops.execute_command("REVOKE", token_id, "REASON", "leaked") == 1
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        assert data.startswith(b"-NOAUTH"), data
        assert b"secret-object" not in data and token_id not in data
        s.close()
    finally:
        daemon.stop()
