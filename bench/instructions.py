"""Instructions per request, counted by valgrind: the durable floor and POST /v1/decisions, same run.

    python bench/instructions.py [--short 200] [--long 600] [--writers 2]

The HTTP bench (bench/http_api.py) measures what users get, but on a shared two-core host its rounds
drift by 5-20 %, so a change worth 3 % cannot be seen in it. Instructions are counted, not timed:
the same code, inputs and environment give the same count whatever else the machine is doing
(docs/performance.md). Each app is called through WSGI in one process, `--writers` copies of it on
one SQLite log taking turns, as gunicorn's workers do: with two, every transaction follows another
connection's commit, so SQLite drops its page cache and reads the pages it needs again, as it does
under load. Each is run twice under `valgrind --tool=callgrind` (`--short` and `--long` requests
after one warm-up request per copy); the difference over the extra requests is what one request
costs, start-up excluded. Also printed: the part spent in SQLite (`_pysqlite_query_execute` and
below). Not counted: the kernel (system calls, page faults) and waiting (the chain lock), which the
HTTP bench includes. Needs valgrind (Debian: apt-get install valgrind); takes a few minutes.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from http_api import BODY  # noqa: E402

APPS = {"floor": "durable floor (sqlite)", "service": "POST /v1/decisions (sqlite)"}


def run_requests(kind: str, writers: int, requests: int, database: Path) -> None:
    """The measured child: `writers` copies of the app on one log, taking turns for `requests`."""
    import json
    import logging

    body = json.dumps(BODY).encode()
    if kind == "floor":
        os.environ["FLOOR_DATABASE_URL"] = f"sqlite:///{database}"
        from floor_app import create_app
    else:
        os.environ.update(POLICY_SERVICE_POLICIES=str(ROOT / "policies"), POLICY_SERVICE_DEV="1",
                          POLICY_SERVICE_DATABASE_URL=f"sqlite:///{database}")
        sys.path.insert(0, str(ROOT))
        from policy_service import create_app  # type: ignore[assignment]
    apps = [create_app() for _ in range(writers)]
    logging.disable(logging.CRITICAL)  # the request log's lines would go to this bench's terminal

    def call(app: Any) -> None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/decisions", "SERVER_NAME": "bench", "SERVER_PORT": "80",
                   "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                   "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
                   "REMOTE_ADDR": "127.0.0.1"}
        status: list[str] = []
        b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        if not status[0].startswith("201"):
            raise SystemExit(f"{kind} answered {status[0]}")

    for app in apps:
        call(app)
    for i in range(requests):
        call(apps[i % writers])


def counted(kind: str, writers: int, requests: int, work: Path) -> tuple[int, int]:
    """(all instructions, SQLite's) of one child run under callgrind."""
    out = work / f"{kind}.{requests}.callgrind"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__, "--child", kind,
                    "--writers", str(writers), "--requests", str(requests), "--database", str(work / f"{kind}.{requests}.db")],
                   check=True, capture_output=True)
    report = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(out)], check=True, capture_output=True,
                            text=True).stdout
    total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", report).group(1).replace(",", ""))  # type: ignore[union-attr]
    sqlite = re.search(r"([\d,]+) \([\s\d.]+%\)\s+\S*cursor\.c:_pysqlite_query_execute ", report)
    return total, int(sqlite.group(1).replace(",", "")) if sqlite else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", type=int, default=200)
    parser.add_argument("--long", type=int, default=600)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--child", choices=sorted(APPS))
    parser.add_argument("--requests", type=int)
    parser.add_argument("--database", type=Path)
    args = parser.parse_args()
    if args.child:
        run_requests(args.child, args.writers, args.requests, args.database)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    work = Path(tempfile.mkdtemp())
    runs = [(kind, n) for kind in APPS for n in (args.short, args.long)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = dict(zip(runs, pool.map(lambda run: counted(run[0], args.writers, run[1], work), runs), strict=True))
    per_request = {}
    for kind, name in APPS.items():
        (short_total, short_sqlite), (long_total, long_sqlite) = results[(kind, args.short)], results[(kind, args.long)]
        extra = args.long - args.short
        total, sqlite = (long_total - short_total) / extra, (long_sqlite - short_sqlite) / extra
        per_request[kind] = total
        print(f"{name:<30} {total / 1e6:6.3f} M instructions/request   SQLite {sqlite / 1e6:6.3f} M ({sqlite / total:4.0%})")
    print(f"floor/decisions = {per_request['floor'] / per_request['service']:.2f}   "
          f"({args.writers} writers taking turns on one log; {args.long} and {args.short} requests under callgrind)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
