"""Real components for presignd's end-to-end tests: each is started on free loopback ports in
its own temporary directory and stopped by its process id."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair(offset: int) -> int:
    """A free port p such that p + offset is free too (SeaweedFS derives gRPC ports that way)."""
    for _ in range(200):
        p = free_port()
        if p + offset < 65536:
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p + offset))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port pair found")


def built_binary(name: str, variable: str) -> str:
    """An executable built by scripts/test (named by `variable`), or the debug build."""
    explicit = os.environ.get(variable)
    if explicit:
        return explicit
    candidate = ROOT / ".build" / "debug" / name
    if not candidate.exists():
        raise RuntimeError(f"{name} is not built: run scripts/test (or swift build) first")
    return str(candidate)


def presignd_binary() -> str:
    """The presignd executable (PRESIGND_BIN or the debug build)."""
    return built_binary("presignd", "PRESIGND_BIN")


def function_library_name() -> str:
    """The name of the Function library the presignd binary loads (presignd_v<N>)."""
    return subprocess.run([presignd_binary(), "function-library", "--name"], capture_output=True, check=True,
                          text=True).stdout.strip()


def presignctl_binary() -> str:
    """The presignctl executable (PRESIGNCTL_BIN or the debug build)."""
    return built_binary("presignctl", "PRESIGNCTL_BIN")


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} was not ready within {timeout} s")


def start_dev(port: int, log, *args: str) -> subprocess.Popen:
    """`presignd dev` on `port` (and `args`), once it answers; its output goes to `log`."""
    import redis
    proc = subprocess.Popen([presignd_binary(), "dev", "--port", str(port), *args], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for(lambda: redis.Redis(port=port).ping(), 30, "presignd dev")
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 10):
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SeaweedFS:
    """SeaweedFS `weed mini` with one configured identity, so it really verifies SigV4
    signatures (without identities it accepts every request)."""

    ACCESS_KEY = "AKIAPRESIGNDTEST0001"
    SECRET_KEY = "presignd-e2e-secret/not+a+real+one"
    REGION = "us-east-1"

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="presignd-seaweed."))
        self.proc = None
        self.s3_port = None
        self.log = None

    def start(self):
        config = {
            "identities": [{
                "name": "presigner",
                "credentials": [{"accessKey": self.ACCESS_KEY, "secretKey": self.SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]
        }
        (self.dir / "s3.json").write_text(json.dumps(config))
        (self.dir / "data").mkdir(exist_ok=True)
        # A restart after halt() keeps the ports and the data.
        if self.s3_port is None:
            self.s3_port = free_port_pair(10000)
            self.ports = {
                "master.port": free_port_pair(10000),
                "volume.port": free_port_pair(10000),
                "filer.port": free_port_pair(10000),
                "admin.port": free_port_pair(10000),
                "webdav.port": free_port(),
                "debug.port": free_port(),
                "s3.debug.port": free_port(),
            }
        ports = self.ports
        args = [
            str(VENV_BIN / "weed"), "mini",
            f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
            f"-s3.port={self.s3_port}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-s3.domainName=localhost", f"-s3.config={self.dir / 's3.json'}",
        ] + [f"-{k}={v}" for k, v in ports.items()]
        self.log = open(self.dir / "weed.log", "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("weed exited:\n" + (self.dir / "weed.log").read_text()[-3000:])
            # Anonymous requests are refused once identities are on; any HTTP answer means up.
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.s3_port}/", timeout=1)
            except urllib.error.HTTPError:
                return True
            return True

        wait_for(ready, 60, "SeaweedFS S3")
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def create_bucket(self, name: str):
        import boto3
        from botocore.config import Config
        s3 = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=self.REGION,
            aws_access_key_id=self.ACCESS_KEY, aws_secret_access_key=self.SECRET_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        for _ in range(100):
            try:
                s3.create_bucket(Bucket=name)
                return
            except Exception as error:  # the filer may need a moment after the port opens
                last = error
                time.sleep(0.1)
        raise RuntimeError(f"could not create bucket {name}: {last}")

    def halt(self):
        """Stops the server but keeps its data and ports, so start() brings it back."""
        if self.proc:
            stop_process(self.proc)
            self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        self.halt()
        shutil.rmtree(self.dir, ignore_errors=True)


def find(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if not path:
        raise RuntimeError(f"{name} is not installed: run scripts/setup")
    return path


class RedisProc:
    """A private redis-server on a free port in its own directory; with sentinel=True a Sentinel
    (which rewrites its configuration file as it learns the topology)."""

    def __init__(self, *config: str, sentinel: bool = False):
        self.sentinel = sentinel
        self.dir = Path(tempfile.mkdtemp(prefix="presignd-redis."))
        self.port = free_port()
        lines = [f"bind 127.0.0.1", f"port {self.port}", f"dir {self.dir}", "save \"\"", "appendonly no",
                 f"logfile {self.dir / 'redis.log'}", *config]
        (self.dir / "redis.conf").write_text("\n".join(lines) + "\n")
        self.start()

    def start(self):
        """Starts the server (again) on the same port, configuration and data files."""
        self.proc = subprocess.Popen([find("redis-server"), str(self.dir / "redis.conf")]
                                     + (["--sentinel"] if self.sentinel else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.cli("PING") == "PONG", 10, "redis-server")

    def kill9(self):
        """Kills the server as a crash would and reaps it."""
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait()

    def pause(self):
        """SIGSTOP: connections stay open, nothing is answered."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def cli(self, *args: str) -> str:
        out = subprocess.run([find("redis-cli"), "-p", str(self.port), *args], capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class SentinelSet:
    """A primary, one replica and three sentinels (quorum 2, failover 1 s after the primary stops
    answering), all on loopback; `primary` is the first primary."""

    MASTER = "m"

    def __init__(self, *primary_config: str):
        self.primary = RedisProc(*primary_config)
        self.replica = RedisProc(f"replicaof 127.0.0.1 {self.primary.port}")
        self.sentinels = [
            RedisProc("sentinel resolve-hostnames no", f"sentinel monitor {self.MASTER} 127.0.0.1 {self.primary.port} 2",
                      f"sentinel down-after-milliseconds {self.MASTER} 1000",
                      f"sentinel failover-timeout {self.MASTER} 5000", sentinel=True)
            for _ in range(3)]

        def known():
            for s in self.sentinels:
                peers = s.cli("SENTINEL", "SENTINELS", self.MASTER)
                if str(self.replica.port) not in s.cli("SENTINEL", "REPLICAS", self.MASTER):
                    return False
                if not all(str(o.port) in peers for o in self.sentinels if o is not s):
                    return False
            return ("master_link_status:up" in self.replica.cli("INFO", "replication")
                    and "state=online" in self.primary.cli("INFO", "replication"))

        wait_for(known, 30, "the sentinels knowing the replica and each other")

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{s.port}" for s in self.sentinels]

    def primary_port(self) -> int:
        return int(self.sentinels[0].cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.MASTER).split()[-1])

    def stop(self):
        for server in self.sentinels + [self.primary, self.replica]:
            server.stop()


def sha256_hex(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


class Presignd:
    """presignd serve with a generated configuration, against a given Redis."""

    def __init__(self, redis: RedisProc, clients: dict, profile: dict, limits: dict | None = None,
                 listen: dict | None = None, extra_yaml: str = "", http: bool = False,
                 redis_config: dict | None = None, env: dict | None = None, args: list | None = None,
                 output: int | None = None, wait: bool = True):
        import yaml  # PyYAML comes with the test requirements
        self.dir = Path(tempfile.mkdtemp(prefix="presignd."))
        self.port = free_port()
        # The HTTP authorize endpoint, on a free port when asked for.
        self.http_port = free_port() if http else None
        self.redis = redis
        self.clients = clients
        self.config_path = self.dir / "presignd.yaml"
        self.config = {
            "listen": {"tcp": f"127.0.0.1:{self.port}",
                       "http": f"127.0.0.1:{self.http_port}" if http else "", **(listen or {})},
            # redis_config adds or overrides keys, e.g. one prefix shared by several daemons.
            # A None value removes a key (e.g. address, when sentinels name the primary); a cluster is
            # reached through its seeds (redis_config["cluster"]), never an address.
            "redis": {k: v for k, v in {
                **({} if "cluster" in (redis_config or {}) else {"address": f"127.0.0.1:{redis.port}"}),
                "prefix": f"presign-{self.port}:", **(redis_config or {})}.items() if v is not None},
            "profiles": [profile],
            "clients": [
                {"id": cid, "secret_sha256": sha256_hex(spec["secret"]),
                 **{k: v for k, v in spec.items() if k != "secret"}}
                for cid, spec in clients.items()
            ],
            "limits": limits or {},
        }
        self.write_config()
        # output: a descriptor for the daemon's stdout and stderr instead of presignd.log.
        # env adds variables to the daemon's environment (NOTIFY_SOCKET, CREDENTIALS_DIRECTORY, …).
        # args adds options to `presignd serve` (e.g. --log-format json).
        self.output, self.env, self.args = output, env, args
        self.log = open(self.dir / "presignd.log", "ab")
        self.start(wait)

    def start(self, wait: bool = True):
        """Starts presignd (again) with the same configuration and ports and, unless told not to,
        waits until it listens."""
        self.proc = subprocess.Popen([presignd_binary(), "serve", "--config", str(self.config_path), *(self.args or [])],
                                     stdout=self.log if self.output is None else self.output,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **(self.env or {})})

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("presignd exited:\n" + self.log_text())
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pass
            if self.http_port:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=1):
                    pass
            return True

        if wait:
            wait_for(ready, 20, "presignd")

    def kill9(self):
        """Kills presignd as a crash would and reaps it."""
        self.proc.kill()
        self.proc.wait()

    def write_config(self):
        import yaml
        self.config_path.write_text(yaml.safe_dump(self.config))

    def log_text(self) -> str:
        return (self.dir / "presignd.log").read_text(errors="replace")

    def client(self, cid: str | None = None, **kwargs):
        import redis
        if cid is None:
            return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)
        return redis.Redis(host="127.0.0.1", port=self.port, username=cid,
                           password=self.clients[cid]["secret"], **kwargs)

    def cli(self, cid: str | None, *args: str) -> str:
        auth = ["--user", cid, "--pass", self.clients[cid]["secret"], "--no-auth-warning"] if cid else []
        out = subprocess.run([find("redis-cli"), "-p", str(self.port), *auth, *args],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Nginx:
    """Debian's nginx started in the foreground (`daemon off;`) with a generated configuration
    around the deploy/nginx site template, in its own prefix directory, stopped by pid."""

    SITE = ROOT / "deploy" / "nginx" / "presignd.conf"

    def __init__(self, values: dict, extra_http: str = "", port: int | None = None):
        import re
        self.dir = Path(tempfile.mkdtemp(prefix="presignd-nginx."))
        self.port = port or free_port()
        values = {"LISTEN": f"127.0.0.1:{self.port}", "S3_SCHEME": "http", **values}

        def fill(match):
            if match.group(1) not in values:
                raise KeyError(f"deploy/nginx/presignd.conf needs {match.group(1)}")
            return values[match.group(1)]

        site = re.sub(r"\$\{([A-Z0-9_]+)\}", fill, self.SITE.read_text())
        (self.dir / "site.conf").write_text(site)
        (self.dir / "logs").mkdir()
        user = "user root root;" if os.geteuid() == 0 else ""
        main = f"""{user}
daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {self.dir}/client_body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    # The path only, never the query: the query holds the signature.
    log_format gateway '$request_method $uri $status upstream=$upstream_addr';
    access_log {self.dir}/logs/access.log gateway;
    {extra_http}
    include {self.dir}/site.conf;
}}
"""
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(main)
        self.proc = subprocess.Popen([find("nginx"), "-p", str(self.dir), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.dir / "logs" / "stderr.log", "wb"),
                                     stdin=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited:\n" + (self.dir / "logs" / "stderr.log").read_text()
                                   + (self.dir / "logs" / "error.log").read_text())
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_for(ready, 10, "nginx")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> list[str]:
        path = self.dir / "logs" / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def subscribe_raw(port: int, client_id: str, secret: str, rcvbuf: int | None = None) -> socket.socket:
    """A raw socket authenticated as `client_id` and subscribed to invalidations (confirmation read)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(f"AUTH {client_id} {secret}\r\nSUBSCRIBE invalidations\r\n".encode())
    expected = b"+OK\r\n*3\r\n$9\r\nsubscribe\r\n$13\r\ninvalidations\r\n:1\r\n"
    got = b""
    while len(got) < len(expected):
        got += s.recv(len(expected) - len(got))
    assert got == expected
    return s
