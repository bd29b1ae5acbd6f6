"""Memory over many reloads: 1,000 reloads, each of a new revision (so each builds an engine and the
cache drops an old one), with a decision after each; prints resident memory as it goes.

    python bench/reload_memory.py [--reloads 1000]

The engine cannot unregister a ruleset by name (docs/engine.md §5); flat memory here shows the dropped
runtimes really release their rulesets.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import bodies  # noqa: E402

from policy_service.decisionlog import DecisionStore  # noqa: E402
from policy_service.service.recording import decide_and_record  # noqa: E402
from policy_service.service.reloading import LivePolicies  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reloads", type=int, default=1000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="policy-reloads-"))
    policies = scratch / "policies"
    shutil.copytree(ROOT / "policies", policies)
    store = DecisionStore(f"sqlite:///{scratch / 'log.db'}")
    store.prepare()
    live = LivePolicies.start(policies, store, follow=False)
    refunds = policies / "refunds.yaml"
    original = refunds.read_text()
    sample = bodies(50)
    started = time.perf_counter()
    for number in range(1, args.reloads + 1):
        refunds.write_text(original + f"\n# reload {number}\n")
        outcome = live.reload("bench", None)
        assert outcome.ok and outcome.changed
        decide_and_record(live.runtime, store, sample[number % len(sample)], caller="bench", trusted_tier=False)
        if number in (1, 10, 100) or number % 250 == 0:
            print(f"after {number:>5} reloads: RSS {rss_mib():6.1f} MiB")
    elapsed = time.perf_counter() - started
    print(f"{args.reloads} reloads in {elapsed:.0f} s ({1000 * elapsed / args.reloads:.0f} ms each, with a decision)")
    store.dispose()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
