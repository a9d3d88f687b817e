# Sourced by the bench/ scripts: the release binaries, free ports, a private redis-server and
# presignd on loopback, cleanup of every process started (by pid, on any exit), and the
# `RESULT name=value` lines that bench/run collects into BENCHMARKS.md.
# Sourcing it changes to the repository root and sets `work` (a temporary directory) and `pids`.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$(mktemp -d /tmp/presignd-bench.XXXXXX)"
pids=()
bench_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap bench_cleanup EXIT

python="${PYTHON:-}"
if [ -z "$python" ]; then
    for candidate in .venv-bench/bin/python .venv/bin/python; do
        [ -x "$candidate" ] && { python="$candidate"; break; }
    done
fi
python="${python:-python3}"

# The release binaries; bench/run builds once and exports both, so each script builds only alone.
presignd_bin() {
    if [ -z "${PRESIGND_BIN:-}" ]; then
        swift build -c release --product presignd 2>&1 | sed '/prohibited flag/d' >&2
        PRESIGND_BIN="$(swift build -c release --show-bin-path)/presignd"
    fi
    echo "$PRESIGND_BIN"
}
presignbench_bin() {
    if [ -z "${PRESIGNBENCH_BIN:-}" ]; then
        swift build -c release --product PresignBench 2>&1 | sed '/prohibited flag/d' >&2
        PRESIGNBENCH_BIN="$(swift build -c release --show-bin-path)/PresignBench"
    fi
    echo "$PRESIGNBENCH_BIN"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() {
    for _ in $(seq 400); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "$0: nothing listens on port $1" >&2
    exit 1
}

# start_redis <port> [redis-server options...]: no persistence, in $work; waits until it answers.
# Sets redis_pid.
start_redis() {
    local port="$1"; shift
    redis-server --bind 127.0.0.1 --port "$port" --dir "$work" --save '' --appendonly no \
        --logfile "$work/redis-$port.log" --daemonize no "$@" &
    redis_pid=$!
    pids+=($!)
    until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.05; done
}

# start_presignd <config file> <port> [log level]: sets presignd_pid; waits for the port (its
# listen.tcp or listen.http). The log level is warning unless given: no audit lines.
start_presignd() {
    # The binary first (presignd_bin may build it), then the wait for its port.
    local bin
    bin="$(presignd_bin)"
    "$bin" serve --config "$1" --log-level "${3:-warning}" 2>>"$work/presignd.log" &
    presignd_pid=$!
    pids+=("$presignd_pid")
    wait_port "$2"
}

# start_haproxy <listen port> <redis port>: haproxy in TCP mode (it parses nothing, it only copies
# bytes both ways) from 127.0.0.1:<listen port> to the Redis on <redis port>, in the foreground;
# waits for the port. Sets haproxy_pid.
start_haproxy() {
    # One thread (`nbthread 1`), like redis-server and like redis-benchmark: on a machine with few
    # cores a second thread only competes with them for the same cores.
    cat >"$work/haproxy-$1.cfg" <<EOF
global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend redis_in
    bind 127.0.0.1:$1
    default_backend redis_out
backend redis_out
    server redis 127.0.0.1:$2
EOF
    haproxy -f "$work/haproxy-$1.cfg" -db >>"$work/haproxy-$1.log" 2>&1 &
    haproxy_pid=$!
    pids+=("$haproxy_pid")
    wait_port "$1"
}

# The client the line-protocol benchmarks authenticate as, with every role.
bench_client=bench
bench_secret="bench-secret-0123456789abcdef0123"
bench_secret_sha256="$(printf '%s' "$bench_secret" | sha256sum | cut -d' ' -f1)"

# bench_config <redis port> <line port>: a presignd configuration for one Redis and the bench client.
bench_config() {
    cat <<EOF
listen: {tcp: "127.0.0.1:$2", http: ""}
redis: {address: "127.0.0.1:$1", prefix: "presign:"}
profiles:
  - {name: bench, region: us-east-1, endpoint: "http://127.0.0.1:9000", public_base_url: "http://127.0.0.1:8080",
     access_key_id: AKIAPRESIGNDBENCH001, secret_access_key: bench-secret-key}
clients:
  - {id: $bench_client, secret_sha256: "$bench_secret_sha256", roles: [issue, gateway, admin]}
limits: {max_connections: 20000}
EOF
}

# rb <port> [redis-benchmark arguments...]: one --csv result line without quotes:
# test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms
# redis-benchmark stops at the first error reply; then its own message (never the arguments,
# which may hold a client secret) goes to stderr and rb fails.
rb() {
    local port="$1" out status=0
    shift
    out="$(redis-benchmark -h 127.0.0.1 -p "$port" --csv "$@" 2>"$work/rb.stderr")" || status=$?
    if [ "$status" -ne 0 ] || [ -z "$out" ]; then
        echo "redis-benchmark on port $port failed (exit $status): $(tail -c 400 "$work/rb.stderr")" >&2
        return 1
    fi
    tail -1 <<<"$out" | tr -d '"'
}
field() { cut -d, -f"$1" <<<"$2"; }

# result <name> <value>: one line for bench/run's collector.
result() { echo "RESULT $1=$2"; }

# rss_kib <pid> [VmRSS|VmHWM]
rss_kib() { sed -n "s/^${2:-VmRSS}:[[:space:]]*\([0-9]*\).*/\1/p" "/proc/$1/status"; }

# cpu_ticks <pid>: user + system CPU time the process has used so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
