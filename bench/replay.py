"""What-if replay speed: decisions re-decided per second under a candidate policy set.

    python bench/replay.py [--decisions 20000] [--repeat 3]

Seeds a fresh SQLite log with the mixed proposals of bench/load.py (so caps fill up and the ledger
has rows), then replays it under the live policies and under a copy with one limit raised. Prints
the median decisions/s of each (target: at least 5,000/s) and what the candidate changed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import bodies  # noqa: E402

from policy_service.decisionlog import DecisionStore  # noqa: E402
from policy_service.service.recording import decide_and_record  # noqa: E402
from policy_service.service.reloading import load_runtime  # noqa: E402
from policy_service.service.replay import replay  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="policy-replay-"))
    live, _ = load_runtime(ROOT / "policies")
    assert live is not None
    store = DecisionStore(f"sqlite:///{scratch / 'log.db'}")
    store.prepare()
    store.store_revision(live.revision, dict(live.policy_set.files))
    sample = bodies(2000)
    started = time.perf_counter()
    for number in range(args.decisions):
        decide_and_record(live, store, sample[number % len(sample)], caller="bench", trusted_tier=False)
    print(f"seeded {args.decisions} decisions in {time.perf_counter() - started:.1f} s")

    candidate_dir = scratch / "candidate"
    shutil.copytree(ROOT / "policies", candidate_dir)
    refunds = candidate_dir / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("refund:       {agent: 50,", "refund:       {agent: 150,"))
    candidate, _ = load_runtime(candidate_dir)
    assert candidate is not None
    for name, runtime in (("live policies", live), ("candidate (agent refund limit 50 -> 150 EUR)", candidate)):
        timings, report = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = replay(store, runtime, None)
            timings.append(time.perf_counter() - started)
        assert report is not None
        median = statistics.median(timings)
        print(f"{name}: {report.decisions} decisions in {median:.2f} s median = {report.decisions / median:,.0f} decisions/s; "
              f"{len(report.changed)} change, transitions {dict(report.transitions)}")
    store.dispose()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
