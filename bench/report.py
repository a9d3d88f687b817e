"""bench/run's collector: reads the `RESULT name=value` and `META name=value` lines of one run and
writes BENCHMARKS.md (every figure beside its anchor, the ratio, the goal) and the throughput chart.

    report.py <results file> <BENCHMARKS.md> <chart.png>
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

CLIENTS = [1, 10, 50, 200]

# Load generators and what each anchor is, said once and referred to by the tables.
RB_PRESIGND = "redis-benchmark → presignd (line protocol)"
RB_DIRECT = "redis-benchmark → Redis `FCALL` (no presignd)"
RECIPE_ISSUE = "hand-written: boto3 + `SET` (Python)"
RECIPE_CONSUME = "hand-written gateway: `GET`, then `SET` (PresignBench recipe)"


def proxy_name(m):
    """The pass-through anchor, with haproxy's major.minor version when the run recorded it."""
    version = ".".join(m.get("haproxy", "").split(".")[:2])
    return f"haproxy{' ' + version if version else ''} (TCP mode, no parsing) in front of the same Function"


def load(path):
    results, meta = {}, {}
    for line in Path(path).read_text().splitlines():
        kind, _, rest = line.partition(" ")
        name, _, value = rest.partition("=")
        if kind == "RESULT":
            results[name] = value
        elif kind == "META":
            meta[name] = value
    return results, meta


def number(results, name):
    try:
        return float(results[name])
    except (KeyError, ValueError):
        return None


def shown(value, unit=""):
    if value is None:
        return "not measured"
    if value >= 1000:
        text = f"{value:,.0f}"
    elif value == int(value):
        text = f"{int(value)}"
    else:
        text = f"{value:.2f}"
    return text + unit


class Goal:
    """A goal on presignd's value (`at_least`, `at_most`, `equal`) or on the ratio (`ratio_at_least`)."""

    def __init__(self, kind=None, bound=None, text=None):
        self.kind, self.bound, self.text = kind, bound, text

    def describe(self):
        if self.kind is None:
            return "none set"
        return self.text

    def met(self, value, ratio):
        if self.kind is None:
            return "—"
        subject = ratio if self.kind == "ratio_at_least" else value
        if subject is None:
            return "not measured"
        ok = {"at_least": subject >= self.bound, "ratio_at_least": subject >= self.bound,
              "at_most": subject <= self.bound, "equal": subject == self.bound}[self.kind]
        return "yes" if ok else "**no**"


def rows(r, m):
    """(figure, presignd value, unit, anchor name, anchor value, goal[, ratio when not value ÷ anchor])."""
    v = lambda name: number(r, name)  # noqa: E731
    proxy = proxy_name(m)
    return [
        # bench/sign alternates the two sides; its ratio is the median of the rounds' ratios.
        ("Presigned GET URLs/s, one thread (one core)", v("sign.get_path.presignd"), "",
         "botocore `generate_presigned_url`", v("sign.get_path.botocore"), Goal("ratio_at_least", 500, "≥ 500×"),
         v("sign.get_path.ratio")),
        ("Presigned PUT URLs/s with a signed Content-Type, one thread", v("sign.put_content_type.presignd"), "",
         "botocore `generate_presigned_url`", v("sign.put_content_type.botocore"), Goal("ratio_at_least", 500, "≥ 500×"),
         v("sign.put_content_type.ratio")),
        ("Presigned PUT URLs/s, each with another Content-Type (no URL shape reused: the full path), one thread",
         v("sign.put_varied_type.presignd"), "", "botocore `generate_presigned_url`",
         v("sign.put_content_type.botocore"), Goal()),
        ("Presigned GET URLs/s with their token ids, as ISSUE makes them, one thread",
         v("sign.get_path_token_id.presignd"), "", "botocore `generate_presigned_url`", v("sign.get_path.botocore"),
         Goal()),
        ("Presigned GET URLs verified/s, one thread (origin form, as a gateway presents them)",
         v("sign.verify_get_path.presignd"), "", "—", None, Goal()),
        ("ISSUE/s (sign + create), 50 clients", v("daemon.issue.presignd.c50.rps"), "",
         RECIPE_ISSUE + ", 50 issuers", v("recipe.issue.c50.rps"), Goal("at_least", 30000, "≥ 30,000/s")),
        ("ISSUE/s against the create Function alone, 50 clients", v("daemon.issue.presignd.c50.rps"), "",
         "create `FCALL` straight to Redis (no signing)", v("daemon.issue.direct.c50.rps"), Goal()),
        ("CONSUME/s, 50 clients, `-P 1`", v("daemon.consume.presignd.c50.rps"), "",
         "consume `FCALL` straight to Redis", v("daemon.consume.direct.c50.rps"), Goal("ratio_at_least", 0.9, "≥ 0.9×")),
        ("CONSUME/s, 50 clients, audit trail written (`--log-level info`, a line per request)",
         v("daemon.consume.presignd_audit.c50.rps"), "", "presignd without audit lines (`--log-level warning`)",
         v("daemon.consume.presignd.c50.rps"), Goal()),
        ("CONSUME/s, 50 clients, `-P 16`", v("daemon.consume.presignd.c50.p16.rps"), "",
         "consume `FCALL` straight to Redis, `-P 16`", v("daemon.consume.direct.c50.p16.rps"), Goal()),
        # What any process between the clients and Redis costs on these cores: haproxy copies bytes and
        # parses nothing, so its ratio against direct is what a middleman doing no work reaches here.
        ("CONSUME/s, 50 clients, `-P 1`, against a pass-through proxy", v("daemon.consume.presignd.c50.rps"), "",
         proxy, v("daemon.consume.haproxy.c50.rps"), Goal()),
        ("The pass-through proxy's own rate (haproxy, not presignd, in this column): consume `FCALL`/s, "
         "50 clients, `-P 1`", v("daemon.consume.haproxy.c50.rps"), "", "consume `FCALL` straight to Redis",
         v("daemon.consume.direct.c50.rps"), Goal()),
        ("CONSUME/s, 50 clients, `-P 16`, against a pass-through proxy", v("daemon.consume.presignd.c50.p16.rps"),
         "", proxy + ", `-P 16`", v("daemon.consume.haproxy.c50.p16.rps"), Goal()),
        ("The pass-through proxy's own rate (haproxy, not presignd, in this column): consume `FCALL`/s, "
         "50 clients, `-P 16`", v("daemon.consume.haproxy.c50.p16.rps"), "",
         "consume `FCALL` straight to Redis, `-P 16`", v("daemon.consume.direct.c50.p16.rps"), Goal()),
        ("CONSUME/s against the hand-written gateway, 50 clients", v("daemon.consume.presignd.c50.rps"), "",
         "`GET` then `SET`, 50 gateways", v("recipe.consume.c50.rps"), Goal()),
        (f"One-time URLs let through more than once ({shown(v('race.gateways'))} gateways racing over "
         f"the same {shown(v('race.urls'))} URLs)", v("race.presignd.reused"), "",
         "hand-written gateway (`GET` then `SET`)", v("race.recipe.reused"), Goal("equal", 0, "0")),
        ("Token store consume calls/s in-process (`RedisTokenStore`, 50 callers, one connection)",
         v("consume.store.c50.rps"), "", "consume `FCALL` straight to Redis, `-c 50 -P 1`",
         v("consume.direct.c50.rps"), Goal("ratio_at_least", 1.0, "≥ 1.0×")),
        ("CONSUME latency p50, 50 clients", v("daemon.consume.presignd.c50.p50_ms"), " ms",
         "consume `FCALL` straight to Redis", v("daemon.consume.direct.c50.p50_ms"), Goal()),
        ("CONSUME latency p99, 50 clients", v("daemon.consume.presignd.c50.p99_ms"), " ms",
         "consume `FCALL` straight to Redis", v("daemon.consume.direct.c50.p99_ms"), Goal()),
        ("CONSUME latency p99 at about half the peak rate "
         f"({shown(v('daemon.half_peak.rps'))}/s, -c {shown(v('daemon.half_peak.clients'))})",
         v("daemon.half_peak.p99_ms"), " ms", "—", None, Goal("at_most", 2, "≤ 2 ms")),
        ("ISSUE latency p50, 50 clients", v("daemon.issue.presignd.c50.p50_ms"), " ms",
         "create `FCALL` straight to Redis", v("daemon.issue.direct.c50.p50_ms"), Goal()),
        ("ISSUE latency p99, 50 clients", v("daemon.issue.presignd.c50.p99_ms"), " ms",
         "create `FCALL` straight to Redis", v("daemon.issue.direct.c50.p99_ms"), Goal()),
        ("Bytes per live token (`MEMORY USAGE` of its key)", v("consume.bytes_per_token"), " B",
         "hand-written status key (`status:<uuid>`, a string)", v("recipe.bytes_per_token"),
         Goal("at_most", 250, "≤ 250 B")),
        ("Revocation delivery p99, REVOKE on one instance to a subscriber on another",
         v("invalidations.delivery.p99_ms"), " ms", "— (the hand-written approach has no revocation)", None,
         Goal("at_most", 10, "≤ 10 ms")),
        ("Invalidation events/s fanned out to 100 subscribers", v("invalidations.fanout.events_per_s"), "",
         "—", None, Goal()),
        ("Daemon RSS, idle after start", v("daemon.rss_idle_mib"), " MiB", "—", None, Goal()),
        ("Daemon RSS, peak under the load of the rows above (up to 200 clients)", v("daemon.rss_load_mib"),
         " MiB", "—", None, Goal()),
        ("Daemon RSS with 10,000 idle connections", v("daemon.rss_10k_idle_conns_mib"), " MiB", "—", None,
         Goal("at_most", 150, "≤ 150 MiB")),
        ("Requests/s through nginx with `auth_request` to presignd (each one a consume)",
         v("gateway.presignd.rps"), "", "the same nginx proxying the same static response, no `auth_request`",
         v("gateway.plain.rps"), Goal()),
    ]


def ratio(value, anchor):
    if value is None or anchor is None or anchor == 0:
        return None
    return value / anchor


def times(q):
    if q is None:
        return "—"
    return f"{q:.0f}×" if q >= 10 else f"{q:.2f}×"


def figures_table(r, m):
    lines = ["| figure | presignd | anchor | anchor's value | presignd ÷ anchor | goal | met? |",
             "|---|---:|---|---:|---:|---|---|"]
    for figure, value, unit, anchor, anchor_value, goal, *measured in rows(r, m):
        q = measured[0] if measured and measured[0] is not None else ratio(value, anchor_value)
        if figure.startswith("One-time URLs"):
            q = None  # a count of failures: the ratio says nothing
        lines.append(f"| {figure} | {shown(value, unit)} | {anchor} | "
                     f"{shown(anchor_value, unit) if anchor_value is not None else '—'} | "
                     f"{times(q)} | {goal.describe()} | {goal.met(value, q)} |")
    return lines


SERIES = [
    ("issue", "presignd ISSUE", "daemon.issue.presignd"),
    ("issue", "create FCALL direct", "daemon.issue.direct"),
    ("issue", "hand-written issue", "recipe.issue"),
    ("consume", "presignd CONSUME", "daemon.consume.presignd"),
    ("consume", "consume FCALL direct", "daemon.consume.direct"),
    ("consume", "hand-written GET+SET", "recipe.consume"),
]


def sweep_table(r):
    lines = ["| clients | " + " | ".join(f"{label} /s" for _, label, _ in SERIES) + " |",
             "|---:|" + "---:|" * len(SERIES)]
    for c in CLIENTS:
        lines.append(f"| {c} | " + " | ".join(shown(number(r, f"{key}.c{c}.rps")) for _, _, key in SERIES) + " |")
    lines += ["", "p50 / p99 latency in ms (the hand-written issue is measured by rate only):", "",
              "| clients | " + " | ".join(label for _, label, key in SERIES if not key.startswith("recipe.issue")) + " |",
              "|---:|" + "---:|" * (len(SERIES) - 1)]
    for c in CLIENTS:
        cells = [f"{shown(number(r, f'{key}.c{c}.p50_ms'))} / {shown(number(r, f'{key}.c{c}.p99_ms'))}"
                 for _, _, key in SERIES if not key.startswith("recipe.issue")]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return lines


def cpu_table(r):
    """CPU per request of each process at 50 clients: why the ratios are what they are on few cores."""
    lines = ["", "## Where the CPU goes (50 clients, `-P 1`)", "",
             "CPU time (user + system) each process spent per request during the run: the load generator "
             "(`redis-benchmark`), `redis-server` and the process in the middle, presignd (or haproxy, in its "
             "row). All of them share the machine's cores, so through presignd a request costs the sum of the "
             "three, and directly the sum of two; on a machine with few cores that sum, not presignd's own "
             "latency, sets the rate.", "",
             "| load | generator µs | redis-server µs | presignd / proxy µs | total µs |", "|---|---|---|---|---|"]
    for name, label, middle in (("consume.presignd", "CONSUME through presignd", "presignd"),
                                ("consume.presignd_audit", "CONSUME through presignd, audit trail written", "presignd"),
                                ("consume.direct", "consume Function directly", "presignd"),
                                ("consume.haproxy", "consume Function through haproxy", "haproxy"),
                                ("issue.presignd", "ISSUE through presignd", "presignd"),
                                ("issue.direct", "create Function directly", "presignd")):
        parts = [number(r, f"daemon.{name}.c50.cpu_us.{who}") for who in ("generator", "redis", middle)]
        total = None if None in parts else sum(parts)
        lines.append(f"| {label} | " + " | ".join("not measured" if v is None else f"{v:.1f}" for v in parts + [total])
                     + " |")
    return lines


def chart(r, m, loaded, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    styles = {"presignd": ("tab:blue", "o"), "FCALL": ("tab:gray", "s"), "hand-written": ("tab:red", "^")}
    for ax, kind, title in ((axes[0], "issue", "Issue a one-time URL"), (axes[1], "consume", "Consume a use")):
        for series_kind, label, key in SERIES:
            if series_kind != kind:
                continue
            points = [(c, number(r, f"{key}.c{c}.rps")) for c in CLIENTS]
            points = [(c, y) for c, y in points if y is not None]
            if not points:
                continue
            color, marker = next(style for word, style in styles.items() if word in label)
            ax.plot([c for c, _ in points], [y for _, y in points], marker=marker, color=color, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(CLIENTS, [str(c) for c in CLIENTS])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("requests per second")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    when = f"{m.get('date', '?')}, {m.get('cores', '?')} cores" + (", loaded machine: noisy" if loaded else "")
    fig.suptitle("presignd against Redis alone and the hand-written approach, one run on one machine "
                 f"({when})", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main():
    results_path, markdown_path, chart_path = sys.argv[1:4]
    r, m = load(results_path)
    chart_link = os.path.relpath(chart_path, os.path.dirname(os.path.abspath(markdown_path)))
    # Above half a core's worth of waiting work per core, other processes took a visible share.
    loaded = float(m.get("load_before", "0")) > 0.5 * float(m.get("cores", "1") or 1)
    chart(r, m, loaded, chart_path)
    lines = ["# presignd benchmarks", "",
             "Written by `bench/run` (do not edit by hand; run it again). Every figure is measured in the same "
             "run as its anchor, on the same machine; compare the ratios, not the absolute numbers.", ""]
    if loaded:
        lines += [f"**Run on a loaded machine**: the 1-minute load average was {m.get('load_before')} when the run "
                  f"started and {m.get('load_after')} when it ended, on {m.get('cores')} cores (the average covers the "
                  "minute before the run too), so the figures may be noisy and lower than on a quiet machine.", ""]
    lines += [
        f"- Date: {m.get('date', '?')}; the whole run took {m.get('wall_seconds', '?')} s of wall-clock time",
        f"- Machine: {m.get('cores', '?')} cores, {m.get('cpu', '?')}, {m.get('ram', '?')} RAM, Linux {m.get('kernel', '?')}",
        f"- Versions: presignd {m.get('commit', '?')}, {m.get('swift', '?')}, Redis {m.get('redis', '?')}, "
        f"nginx {m.get('nginx', '?')}, haproxy {m.get('haproxy', '?')}, botocore {m.get('botocore', '?')}, "
        f"boto3 {m.get('boto3', '?')}, redis-py {m.get('redis_py', '?')}, Python {m.get('python', '?')}",
        "- Redis: a private `redis-server` per benchmark on loopback, no persistence (`--save '' --appendonly no`)",
        "", "## Every figure against its anchor", ""]
    lines += figures_table(r, m)
    failed = sorted(name.split(".")[1] for name, value in m.items() if name.startswith("status.") and value != "0")
    if failed:
        lines += ["", f"**Benchmarks that failed in this run** (their figures are 'not measured'): {', '.join(failed)}; "
                  "see their logs under `bench/out/`."]
    lines += ["", "## Throughput against concurrent clients", "", f"![throughput against clients]({chart_link})", ""]
    lines += sweep_table(r)
    lines += cpu_table(r)
    lines += [
        "", "## What generated the load", "",
        f"- presignd ISSUE and CONSUME: `redis-benchmark -P 1` with as many connections as clients, "
        f"{shown(number(r, 'daemon.requests_per_run'))} requests per run (a quarter of that at one client); "
        "CONSUME spends uses of one token with a million uses, so each call is a full consume.",
        "- Redis Functions directly (the anchor for Redis' own cost): the same `redis-benchmark` calling "
        "the library's consume and create Functions (`FCALL presignd_v<N>_consume`, `_create`) on the same `redis-server` as presignd uses, "
        "with the keys an ISSUE writes.",
        "- Pass-through proxy (the anchor for what any middleman costs): the same `redis-benchmark` calling "
        "the consume Function through haproxy in TCP mode (one thread, `nbthread 1`; it copies bytes "
        "and parses nothing) in front of the same `redis-server`, at `-c 50`, `-P 1` and `-P 16`.",
        "- Hand-written issue: the recipe itself in Python (`bench/recipe.py issue`): boto3 "
        "`generate_presigned_url`, then `SET status:<uuid> unused EX 600` with redis-py, from one process per "
        "core with the clients spread over them as threads (how a Python web service runs). Signing in "
        "Python is the recipe's own cost, so no separate load generator is involved.",
        "- Hand-written consume: `PresignBench recipe` (Swift, compiled): one connection per gateway, each "
        "doing `GET status:<id>` and, on `unused`, `SET status:<id> used KEEPTTL`, one decision in flight, "
        "over distinct preloaded one-time URLs (every decision is a grant with two round trips). Like "
        "`redis-benchmark`, it costs the approach less than a real Python gateway would.",
        "- The race: `bench/recipe.py race` starts 8 gateway processes (redis-py, one connection each) that "
        "go through the same one-time URLs in the same order from one barrier; first the hand-written "
        "gateway on Redis, then presignd's `CONSUME` over its line protocol. A URL counts once however "
        f"many extra times it was let through (extra uses: hand-written {shown(number(r, 'race.recipe.extra_uses'))}, "
        f"presignd {shown(number(r, 'race.presignd.extra_uses'))}; URLs never let through at all: "
        f"hand-written {shown(number(r, 'race.recipe.never_allowed'))}, presignd "
        f"{shown(number(r, 'race.presignd.never_allowed'))}).",
        "- Signing: `PresignBench sign` and `bench/botocore_presign.py`, one thread each, the same inputs, "
        f"taking turns in {shown(number(r, 'sign.rounds'))} rounds: both run as long-lived processes and each presignd turn is next to "
        "botocore's on the same case; the ratio is the median of those pairs' ratios (the rates are medians too, so "
        "the ratio can differ a little from their quotient). botocore makes the URL alone, as does presignd in "
        "the first two rows; ISSUE also derives the token id (one more SHA-256).",
        "- Token store: `PresignBench consume` (50 tasks on one auto-pipelined client) against `redis-benchmark "
        "-c 50` calling the same Function on the same tokens.",
        "- Revocation delivery: `bench/invalidations.py`, two presignd instances on one Redis, redis-py "
        "subscriber on one, `REVOKE` sent to the other, one revocation at a time.",
        f"- nginx: `wrk -t2 -c32` against nginx with the `deploy/nginx` site (`auth_request` to presignd's "
        f"HTTP endpoint, {shown(number(r, 'gateway.presignd.cpu_us_per_request'))} µs of presignd CPU per "
        "request) and against the same nginx proxying the same static response without it.",
        "- Memory: `MEMORY USAGE` of a live token's hash (presignd) and of a status key (hand-written); "
        "RSS from `/proc/<pid>/status` (`VmHWM` for the peak under load).",
        "", "Redis, the load generators and presignd share the machine's cores, so a process's rate here is "
        "bounded by what the others leave it.", "",
    ]
    Path(markdown_path).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
