"""Sustained load and a graceful restart under load, against `policy-service serve` as deployed
(API keys, two workers, JSON request logs, Prometheus metrics).

    python bench/load.py [--seconds 60] [--connections 32] [--workers 2] [--sighup-every 0]

Needs `wrk`. Mixed proposals: refunds, store credit, delivery compensation, reshipments, fee waivers and
payment extensions from several agents for 400 customers, so caps fill up and some decisions escalate.
Reports requests/s, wrk's p50/p99 and every error (non-2xx responses and socket errors), then checks
that /metrics, summed over the workers, counted every decision wrk received.

`--sighup-every N` sends SIGHUP to the gunicorn master every N seconds during the run: each one
re-reads the policies and replaces both workers gracefully; the run must still show zero errors.
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
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ("ag-101", "ag-102", "ag-103", "sr-201", "sup-7", "bot-1")
PROPOSALS = (
    {"action": "refund", "amount": "35.00", "currency": "EUR"},
    {"action": "refund", "amount": "120.00", "currency": "EUR"},
    {"action": "store_credit", "amount": "25.00", "currency": "EUR"},
    {"action": "delivery_compensation", "amount": "10.00", "currency": "EUR"},
    {"action": "reshipment"},
    {"action": "fee_waiver", "amount": "12.00", "currency": "EUR"},
    {"action": "payment_extension", "amount": 10},
)


def bodies(count: int = 400) -> list[dict[str, object]]:
    return [{
        "agent": {"id": AGENTS[n % len(AGENTS)]},
        "customer": {"id": f"cu-{n:04d}", "tier": ("standard", "gold", "platinum")[n % 3], "tenure_months": n % 60,
                     "lifetime_value": (n * 37) % 9000, "flags": []},
        "case": {"id": f"tk-{n}", "reason": ("late_delivery", "damaged_item", "changed_mind", "billing_error")[n % 4],
                 "channel": "phone", "order_value": 40 + n % 300, "days_since_purchase": n % 90,
                 "fault": ("carrier", "company", "customer")[n % 3], "contact_count": 1 + n % 4},
        "proposal": PROPOSALS[n % len(PROPOSALS)],
        "locale": "es",
    } for n in range(count)]


def lua_script(key: str, items: list[dict[str, object]]) -> str:
    encoded = ",\n".join(json.dumps(json.dumps(body)) for body in items)
    return f"""
local bodies = {{
{encoded}
}}
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {key}"}}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/decisions", headers, bodies[(counter % #bodies) + 1])
end
"""


def wait_ready(port: int) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit("the service did not become ready")


def metric_sum(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#") and line[len(name)] in "{ ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sighup-every", type=float, default=0.0, help="seconds between SIGHUPs (0: none)")
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    scratch = Path(tempfile.mkdtemp(prefix="policy-load-"))
    command = [sys.executable, "-c", "from policy_service.cli import main; main()"]
    key = subprocess.run([*command, "keys", "create", "load", "--role", "agent_tool", "--any-agent", "--keys", str(scratch / "keys.json")],
                         capture_output=True, text=True, check=True).stdout.strip()
    server = subprocess.Popen(
        [*command, "serve", "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}",
         "--keys", str(scratch / "keys.json"), "--policies", str(ROOT / "policies"),
         "--database", f"sqlite:///{scratch / 'decisions.db'}"],
        cwd=scratch, stdout=subprocess.DEVNULL, stderr=(scratch / "server.log").open("wb"))
    hups = 0
    try:
        wait_ready(args.port)
        script = scratch / "mixed.lua"
        script.write_text(lua_script(key, bodies()))
        stop = threading.Event()

        def hup() -> None:
            nonlocal hups
            while not stop.wait(args.sighup_every):
                os.kill(server.pid, signal.SIGHUP)
                hups += 1

        if args.sighup_every:
            threading.Thread(target=hup, daemon=True).start()
        output = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                                 "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{args.port}/v1/decisions"],
                                capture_output=True, text=True, check=True).stdout
        stop.set()
        time.sleep(1.0)
        counted = metric_sum(args.port, "policy_decisions_total")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {p: re.search(rf"\s{p}%\s+([\d.]+\w+)", output).group(1) for p in ("50", "99")}  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(int(n) for n in sockets.groups()) if sockets else 0)
    print(f"{args.seconds} s, {args.connections} connections, {args.workers} workers, mixed proposals"
          + (f", {hups} SIGHUP graceful restarts" if args.sighup_every else ""))
    print(f"  {total} requests, {rate:,.0f} req/s, p50 {latency['50']}, p99 {latency['99']}, errors {errors}")
    print(f"  /metrics policy_decisions_total summed over workers: {counted:.0f} (wrk received {total - errors} answers)")
    shutil.rmtree(scratch, ignore_errors=True)
    # wrk stops counting at the deadline; up to one request per connection may still finish server-side.
    if errors or not total - errors <= int(counted) <= total - errors + args.connections:
        sys.exit(1)


if __name__ == "__main__":
    main()
