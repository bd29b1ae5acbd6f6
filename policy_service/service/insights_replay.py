"""A recommendation's candidate replayed (docs/contract.md §10: "each recommendation linked ... to its
replay"): the live policy files copied aside, the recommendation's one-line `set_limits` change written
into the copy (insights_advice.apply_candidate), and the log replayed under it with service.replay, the
same call `policy-service replay --candidate` makes. Writes nothing but the temporary copy.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from policy_service.decisionlog import DecisionStore
from policy_service.service.insights_advice import apply_candidate
from policy_service.service.reloading import load_runtime
from policy_service.service.replay import ReplayReport, replay


def replay_recommendation(store: DecisionStore, live_directory: Path | str, recommendation: dict[str, Any],
                          since: datetime | None) -> ReplayReport:
    """What the recommendation's candidate would have changed on the decisions since `since`.
    ValueError when the candidate cannot be written into the files or the edited set does not load."""
    with tempfile.TemporaryDirectory(prefix="policy-candidate-") as scratch:
        copy = Path(scratch) / "policies"
        shutil.copytree(live_directory, copy)
        apply_candidate(copy, recommendation)
        runtime, result = load_runtime(copy)
        if runtime is None:
            raise ValueError(f"the candidate does not load: {[d.message for d in result.diagnostics][:3]}")
        try:
            return replay(store, runtime, since)
        finally:
            runtime.close()
