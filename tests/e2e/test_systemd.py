"""deploy/systemd: the unit passes `systemd-analyze verify` without a single warning, the real
daemon speaks systemd's notify protocol (READY=1, RELOADING=1 + READY=1 on SIGHUP, STOPPING=1)
on a socket the test listens on, secrets are read from $CREDENTIALS_DIRECTORY, and the sample
configuration validates. systemd itself does not run the service here: the sandboxing directives
are checked for syntax, not exercised."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from support import ROOT, Presignd, RedisProc, presignd_binary

UNIT = ROOT / "deploy" / "systemd" / "presignd.service"
SAMPLE = ROOT / "deploy" / "systemd" / "presignd.yaml"
PROFILE = {
    "name": "main", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
    "public_base_url": "http://127.0.0.1:8080",
    "access_key_id": "AKIAPRESIGNDE2E00001", "secret_access_key": "e2e-secret-key/for+tests",
}
CLIENTS = {"issuer": {"secret": "issuer-secret-0123456789abcdef0123", "roles": ["issue", "gateway"]}}


def test_unit_verifies_without_warnings(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/setup"
    # verify insists that ExecStart's binary exists: point a copy at the built one.
    unit = tmp_path / "presignd.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/presignd", presignd_binary()))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_unit_verify_would_report_a_problem(tmp_path):
    """The check above can fail: an unknown key is a warning on stderr (exit status 0)."""
    unit = tmp_path / "presignd.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/presignd", presignd_binary())
                    .replace("LockPersonality=yes", "LockPersonality=yes\nLockPersonalty=yes"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "LockPersonalty" in result.stdout + result.stderr


def receive(sock) -> dict:
    message = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in message.splitlines() if "=" in line)


def reload_and_stop(daemon: Presignd, sock):
    """READY=1; SIGHUP as soon as it arrives, then RELOADING=1 and READY=1; SIGTERM, then
    STOPPING=1 and a clean exit."""
    assert receive(sock).get("READY") == "1"
    daemon.proc.send_signal(1)  # SIGHUP
    reloading = receive(sock)
    assert reloading.get("RELOADING") == "1" and reloading.get("MONOTONIC_USEC", "").isdigit()
    assert receive(sock) == {"READY": "1", "STATUS": "serving"}
    daemon.proc.terminate()
    assert receive(sock).get("STOPPING") == "1"
    assert daemon.proc.wait(timeout=20) == 0


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_ready_reloading_stopping(redis_server, abstract, tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(20)
    if abstract:
        name = f"presignd-notify-{os.getpid()}-{id(sock)}"
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify.sock")
        sock.bind(address)
    daemon = Presignd(redis_server, CLIENTS, PROFILE, env={"NOTIFY_SOCKET": address})
    try:
        reload_and_stop(daemon, sock)
    finally:
        daemon.stop()
        sock.close()


def test_a_refused_reload_says_so_in_the_status(redis_server, tmp_path):
    """systemd cannot be told that a reload failed (READY=1 must follow RELOADING=1): the status
    line, which `systemctl status` shows, says so until a reload is applied."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(20)
    address = str(tmp_path / "notify.sock")
    sock.bind(address)
    daemon = Presignd(redis_server, CLIENTS, PROFILE, env={"NOTIFY_SOCKET": address})
    try:
        assert receive(sock).get("READY") == "1"
        good = daemon.config_path.read_text()
        daemon.config_path.write_text(good + "\nclients: [unclosed\n")
        daemon.proc.send_signal(1)  # SIGHUP
        assert receive(sock).get("RELOADING") == "1"
        refused = receive(sock)
        assert refused.get("READY") == "1" and "the last reload was refused" in refused.get("STATUS", "")
        daemon.config_path.write_text(good)
        daemon.proc.send_signal(1)
        assert receive(sock).get("RELOADING") == "1"
        assert receive(sock) == {"READY": "1", "STATUS": "serving"}
    finally:
        daemon.stop()
        sock.close()


def test_sighup_the_moment_ready_arrives_is_a_reload(redis_server, tmp_path):
    """systemctl reload may follow READY=1 at once: the signal must find presignd's handler, not
    the default action (exit) nor a gap while the handler is being set up. The gap is narrow: it
    showed when every core was busy, so the daemon runs beside one busy loop per core, is started
    several times, and is signalled as soon as READY arrives."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(20)
    address = str(tmp_path / "notify.sock")
    sock.bind(address)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    daemon = Presignd(redis_server, CLIENTS, PROFILE, env={"NOTIFY_SOCKET": address}, wait=False)
    try:
        for round in range(12):
            if round:
                daemon.start(wait=False)
            reload_and_stop(daemon, sock)
    finally:
        daemon.stop()
        sock.close()
        for loop in busy:
            loop.kill()
            loop.wait()


def test_secrets_from_credentials_directory(tmp_path):
    """`*_file: $CREDENTIALS_DIRECTORY/<name>`, as LoadCredential= provides them."""
    password = "redis-pw-from-credentials-0123456789"
    redis = RedisProc(f"user presignd-e2e on >{password} ~* &* +@all")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "redis-password").write_text(password + "\n")
    (credentials / "s3-secret").write_text(PROFILE["secret_access_key"] + "\n")
    profile = {k: v for k, v in PROFILE.items() if k != "secret_access_key"}
    profile["secret_access_key_file"] = "$CREDENTIALS_DIRECTORY/s3-secret"
    daemon = Presignd(redis, CLIENTS, profile,
                      redis_config={"username": "presignd-e2e",
                                    "password_file": "${CREDENTIALS_DIRECTORY}/redis-password"},
                      env={"CREDENTIALS_DIRECTORY": str(credentials)})
    try:
        out = daemon.cli("issuer", "ISSUE", "GET", "bucket-a", "k.txt").splitlines()
        token_id = out[out.index("id") + 1]
        # The consume reached Redis as the ACL user, so the password was read from the directory.
        assert daemon.cli("issuer", "CONSUME", token_id) == "0"
        assert "presignd-e2e" in redis.cli("CLIENT", "LIST")
    finally:
        daemon.stop()
        redis.stop()


def test_sample_configuration_validates(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for name in ("redis-password", "s3-access-key-id", "s3-secret-access-key"):
        (credentials / name).write_text("AKIAEXAMPLE0000000000\n" if name == "s3-access-key-id" else "x\n")
    env = {**os.environ, "CREDENTIALS_DIRECTORY": str(credentials)}
    ok = subprocess.run([presignd_binary(), "check-config", str(SAMPLE)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # Its client hashes are placeholders to replace, and check-config says so.
    assert "clients[0].secret_sha256 is all zeros, a placeholder" in ok.stdout
    del env["CREDENTIALS_DIRECTORY"]
    missing = subprocess.run([presignd_binary(), "check-config", str(SAMPLE)], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "CREDENTIALS_DIRECTORY" in missing.stdout + missing.stderr
