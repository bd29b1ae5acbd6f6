"""HTTP decisions/s against its honest floor (docs/contract.md §12), same gunicorn settings, same run.

    python bench/http_api.py [--seconds 10] [--rounds 3] [--workers 2] [--connections 8] [--backend sqlite|postgresql]

Three servers, loaded in alternation for several rounds (a shared 2-core machine drifts by 10-20 %
between runs) and reported by their medians:
  - bare: a Flask JSON endpoint that parses the body and answers (bench/bare_app.py);
  - floor: the same, appending the exchange to a SHA-256 chain in the backend before replying, one
    transaction per request under the chain's lock (bench/floor_app.py);
  - service: policy-service's POST /v1/decisions on a fresh log in the same backend.
For each: requests/s, wrk's p50 and p99, non-2xx answers, and the CPU time (user + system) the server's
processes spent per request, which drifts less than the rate; then decisions/floor and floor/bare.
Needs `wrk` (Debian: apt-get install wrk); --backend postgresql needs the server of
POLICY_SERVICE_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432) and makes two databases.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "agent": {"id": "ag-101"},
    "customer": {"id": "cu-88", "tier": "gold", "tenure_months": 26, "lifetime_value": 4300, "flags": []},
    "case": {"id": "tk-5521", "reason": "late_delivery", "channel": "phone", "order_value": 180,
             "days_since_purchase": 45, "fault": "carrier", "contact_count": 2},
    "proposal": {"action": "refund", "amount": "120.00", "currency": "EUR"},
    "locale": "es",
}


def start(app: str, port: int, workers: int, env: dict[str, str], cwd: Path, logs: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", "sync",
         "--log-level", "warning", app],
        cwd=cwd, env={**os.environ, **env}, start_new_session=True,
        stderr=(logs / f"server-{port}.log").open("ab"))  # the JSON request log goes to a file, as in production
    for _ in range(100):
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/decisions", data=json.dumps(BODY).encode(),
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=1)
            return process
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{app} did not start")


def server_cpu_seconds(master: int) -> float:
    """User + system CPU of a gunicorn master and its workers so far (Linux /proc)."""
    pids = [master, *(int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split())]
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def load(port: int, seconds: int, connections: int, script: Path, master: int) -> dict[str, float]:
    cpu_before = server_cpu_seconds(master)
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                             f"http://127.0.0.1:{port}/v1/decisions"], capture_output=True, text=True, check=True).stdout
    cpu = server_cpu_seconds(master) - cpu_before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {p: re.search(rf"\s{p}%\s+([\d.]+\w+)", output).group(1) for p in ("50", "99")}  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return {"rate": rate, "p50": latency["50"], "p99": latency["99"], "errors": int(non_2xx.group(1)) if non_2xx else 0,  # type: ignore[dict-item]
            "cpu_us": cpu / max(requests, 1) * 1e6, "requests": requests}


def _postgres_databases(names: list[str]) -> tuple[list[str], Any]:
    """Fresh databases on the test server, and a function that drops them."""
    import psycopg

    server = os.environ.get("POLICY_SERVICE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return [f"{server}/{name}" for name in names], drop


def _ms(text: str) -> float:
    """wrk's latency text ("1.23ms", "850.00us", "1.02s") in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp())
    script = work / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(json.dumps(BODY))}\n")
    drop = None
    if args.backend == "sqlite":
        floor_url, service_url = f"sqlite:///{work / 'floor.db'}", f"sqlite:///{work / 'bench.db'}"
    else:
        (floor_url, service_url), drop = _postgres_databases(["ps_bench_floor", "ps_bench_service"])
    BARE, FLOOR, SERVICE = "bare Flask endpoint", f"durable floor ({args.backend})", f"POST /v1/decisions ({args.backend})"
    servers = [
        (BARE, "bare_app:create_app()", {"PYTHONPATH": str(ROOT / "bench")}, 18081),
        (FLOOR, "floor_app:create_app()", {"PYTHONPATH": str(ROOT / "bench"), "FLOOR_DATABASE_URL": floor_url}, 18083),
        (SERVICE, "policy_service:create_app()",
         {"POLICY_SERVICE_POLICIES": str(ROOT / "policies"), "POLICY_SERVICE_DEV": "1",
          "POLICY_SERVICE_DATABASE_URL": service_url}, 18082),
    ]
    processes = {name: start(app, port, args.workers, env, ROOT, work) for name, app, env, port in servers}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in servers}
    try:
        for name, _, _, port in servers:
            load(port, 2, args.connections, script, processes[name].pid)  # warm-up
        for _ in range(args.rounds):
            for name, _, _, port in servers:
                runs[name].append(load(port, args.seconds, args.connections, script, processes[name].pid))
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        if drop is not None:
            drop()
    results = {name: sorted(rounds, key=lambda r: r["rate"])[len(rounds) // 2] for name, rounds in runs.items()}
    for name, r in results.items():
        cpu = sorted(x["cpu_us"] for x in runs[name])[len(runs[name]) // 2]
        p99 = sorted(_ms(str(x["p99"])) for x in runs[name])[len(runs[name]) // 2]
        print(f"{name:<36} {r['rate']:8.0f} req/s   p50 {r['p50']:>8}   p99 {p99:6.2f}ms   "
              f"non-2xx {sum(int(x['errors']) for x in runs[name])}   server CPU {cpu:5.0f} µs/request")
    bare, floor, service = (results[name]["rate"] for name in (BARE, FLOOR, SERVICE))
    print(f"decisions/floor = {service / floor:.2f}   floor/bare = {floor / bare:.2f}   decisions/bare = {service / bare:.2f}")
    print(f"(medians of {args.rounds} alternating rounds of {args.seconds}s; {args.workers} sync workers, "
          f"{args.connections} connections)")
    for name, rounds in runs.items():
        print(f"  {name}: " + ", ".join(f"{r['rate']:.0f}" for r in rounds) + " req/s")


if __name__ == "__main__":
    main()
