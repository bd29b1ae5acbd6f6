"""Two or more checkouts of the service, served side by side under the HTTP bench's settings, in
alternating rounds: is a change faster over HTTP, or is the difference the host's noise?

    python bench/compare_trees.py BEFORE=/path/to/checkout AFTER=/path/to/other [--rounds 8] [--seconds 8]

Each tree is served by its own gunicorn (2 sync workers, `POST /v1/decisions` on a fresh SQLite log
of its own) with that tree's code and policies first on PYTHONPATH, and loaded by `wrk` (8
connections) in turn, the order reversed every other round so neither always follows the other.
Prints, per tree, the median rate, server CPU a request and p99, every round's rate, and how many
rounds each tree won against the first. On a shared two-core host the rounds of one tree drift by
5-20 %: a change worth a few percent needs many rounds, or a count that does not drift
(bench/instructions.py). A checkout is made with `git worktree add /tmp/before HEAD~1`, say.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
from pathlib import Path

from http_api import BODY, _ms, load, start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="+", metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    trees = [tuple(tree.split("=", 1)) for tree in args.trees]
    if len(trees) < 2 or any(len(tree) != 2 or not (Path(tree[1]) / "policy_service").is_dir() for tree in trees):
        parser.error("give two or more NAME=PATH, each PATH a checkout of this project")
    work = Path(tempfile.mkdtemp())
    script = work / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(json.dumps(BODY))}\n")
    servers = {}
    for i, (name, path) in enumerate(trees):
        env = {"POLICY_SERVICE_POLICIES": f"{path}/policies", "POLICY_SERVICE_DEV": "1",
               "POLICY_SERVICE_DATABASE_URL": f"sqlite:///{work / name}.db", "PYTHONPATH": str(Path(path).resolve())}
        servers[name] = (start("policy_service:create_app()", 18090 + i, 2, env, Path(path), work), 18090 + i)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    try:
        for process, port in servers.values():
            load(port, 3, 8, script, process.pid)  # warm-up
        for number in range(args.rounds):
            order = list(servers.items()) if number % 2 == 0 else list(reversed(servers.items()))
            for name, (process, port) in order:
                runs[name].append(load(port, args.seconds, 8, script, process.pid))
    finally:
        for process, _ in servers.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    first = trees[0][0]
    for name, rounds in runs.items():
        won = sum(r["rate"] > f["rate"] for r, f in zip(rounds, runs[first], strict=True))
        print(f"{name:<12} {statistics.median(r['rate'] for r in rounds):7.0f} req/s   "
              f"CPU {statistics.median(r['cpu_us'] for r in rounds):6.0f} µs/request   "
              f"p99 {statistics.median(_ms(str(r['p99'])) for r in rounds):5.1f} ms   "
              f"errors {sum(int(r['errors']) for r in rounds)}   "
              + (f"ahead of {first} in {won} of {len(rounds)} rounds   " if name != first else "")
              + "rounds " + " ".join(f"{r['rate']:.0f}" for r in rounds))
    print(f"(medians of {args.rounds} alternating rounds of {args.seconds}s; 2 sync workers, 8 connections)")


if __name__ == "__main__":
    main()
