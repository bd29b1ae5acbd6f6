"""The live policy set of one worker, and how it changes without a restart.

One rule makes every worker of every instance converge on one revision: **the newest successful row of
`policy_reloads` in the database is the live revision.** A reload (HTTP, SIGHUP, the file watcher, a
server start) validates the directory and appends a row, ok or failed; every worker checks the newest
row at most twice a second before it answers, and switches when it changed. Workers are separate
processes, so a signal or memory could not reach them all; the database they already share does.

A set with any error appends a failed row, positioned diagnostics included, and changes nothing live:
every worker can show that error, not only the one that tried. So does a set whose own test cases
fail, when the caller passes a `gate` (policytest.gate, above this room): each failing case is an error
at its line in its `*_test.yaml`. A server started with --allow-failing-tests passes none.

Memory: the engine cannot unregister a ruleset by name (docs/engine.md §5), so runtimes are kept per
revision in a small cache and an evicted one drops its rulesets through the engine's own delete call
when it is collected (see engine.RuleEngine); reloading the same files changes nothing at all.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from policy_service.authoring.diagnostics import Diagnostic, render_text
from policy_service.authoring.loader import LoadResult, load_policy_set
from policy_service.deciding.runtime import PolicyRuntime
from policy_service.decisionlog import DecisionStore
from policy_service.errors import StartupError, StoreError
from policy_service.model import PolicySet
from policy_service.telemetry import metrics

# What a reload asks of a valid set beyond loading: the diagnostics (errors) of its failing test cases.
Gate = Callable[[Path, PolicySet], list[Diagnostic]]


def load_gated(directory: Path | str, gate: Gate | None) -> LoadResult:
    """The directory loaded; with a gate, a set whose own test cases fail is refused like a broken one."""
    result = load_policy_set(directory)
    if result.policy_set is None or gate is None:
        return result
    failures = gate(Path(directory), result.policy_set)
    if not failures:
        return result
    return LoadResult(None, tuple(sorted(set(result.diagnostics) | set(failures))))


def load_runtime(directory: Path | str) -> tuple[PolicyRuntime | None, LoadResult]:
    """A policy directory loaded and made ready to decide, or None with the diagnostics that say why."""
    result = load_policy_set(directory)
    return (PolicyRuntime(result.policy_set) if result.policy_set else None), result

log = logging.getLogger(__name__)

SYNC_SECONDS = 0.5  # how stale a worker may be; two workers differ at most this long after a reload
OUTAGE_BACKOFF_SECONDS = 5.0  # between looks at the reload log while it is unreachable
KEEP_RUNTIMES = 3  # the live one and a few recent ones, for quick switches back


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    revision: str  # live after the attempt
    previous: str
    diagnostics: tuple[Diagnostic, ...]

    @property
    def changed(self) -> bool:
        return self.revision != self.previous


def check_directory(directory: Path | str, store: DecisionStore, source: str, caller: str | None = None,
                    gate: Gate | None = None) -> ReloadOutcome:
    """Validate the directory (and, with a gate, run its test cases) and record the attempt: what the
    gunicorn master does at start, on SIGHUP and for the watcher. Serving engines are built in workers,
    after the fork; a gate's engine is dropped before it returns."""
    previous = (store.latest_reloads()[1] or {}).get("revision") or ""
    return _record(store, source, caller, load_gated(directory, gate), previous, directory)


def _record(store: DecisionStore, source: str, caller: str | None, result: LoadResult, live: str,
            directory: Path | str) -> ReloadOutcome:
    """The one place an attempt is judged and written: a valid set is snapshotted on this host, stored
    (for auditors) and becomes the newest ok row; a broken one is a failed row that keeps `live` live."""
    diagnostics = [d.to_json() for d in result.diagnostics]
    if result.policy_set is None:
        store.record_reload(source, caller, False, live or None, diagnostics)
        metrics.RELOADS.labels("failed").inc()
        log.error("policy reload (%s) refused; %s stays live:\n%s", source, live or "nothing", render_text(result.diagnostics))
        return ReloadOutcome(False, live, live, result.diagnostics)
    revision = result.policy_set.revision
    keep_snapshot(directory, result.policy_set)
    # Stored before the first decision names it, so every decision's exact policy can be shown later.
    store.store_revision(revision, dict(result.policy_set.files))
    store.record_reload(source, caller, True, revision, diagnostics)
    metrics.RELOADS.labels("ok" if revision != live else "unchanged").inc()
    log.info("policy reload (%s): %s is live (was %s)", source, revision, live or "nothing")
    return ReloadOutcome(True, revision, live, result.diagnostics)


class LivePolicies:
    """What one worker answers with: `runtime` is always a complete, valid policy set."""

    def __init__(self, directory: Path | str, store: DecisionStore, runtime: PolicyRuntime, source: str,
                 gate: Gate | None = None) -> None:
        self.directory = Path(directory)
        self.gate = gate
        self.store = store
        self.runtime = runtime
        self.loaded_at = datetime.now(timezone.utc)
        self.source = source
        self.last_error: dict[str, Any] | None = None
        self._cache: OrderedDict[str, PolicyRuntime] = OrderedDict({runtime.revision: runtime})
        try:
            self._seen = store.last_reload_seq()
        except StoreError:  # the log is down: the first sync after it returns catches up
            self._seen = 0
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def start(cls, directory: Path | str, store: DecisionStore, *, follow: bool, gate: Gate | None = None) -> LivePolicies:
        """`follow`: a gunicorn master has recorded what is live (serve), so a worker that starts later
        (a restart after a crash, a SIGHUP) takes that revision, not whatever the directory holds now.
        Otherwise this process is the server: it loads the directory and makes it live."""
        try:
            latest, good = store.latest_reloads()
        except StoreError as exc:
            # The log is down: answer with the directory (this host's own policy text) and follow
            # the reload log once it is back. Nothing is recorded until then.
            log.error("reload log unreachable at start; loading %s: %s", directory, exc)
            return cls(directory, store, _directory_runtime(directory), "start", gate)
        if follow and good is not None:
            try:
                runtime = _runtime_for(good["revision"], Path(directory))
            except StartupError as exc:  # not policy text this host accepted: its own directory is the truth
                log.error("%s; answering with %s instead", exc, directory)
                runtime = _directory_runtime(directory)
            live = cls(directory, store, runtime, "start", gate)
            live._note_error(latest)
            return live
        result = load_gated(directory, gate)
        if result.policy_set is None:
            raise StartupError(f"policies in {directory} cannot be loaded:\n{render_text(result.diagnostics)}")
        if good is None or good["revision"] != result.policy_set.revision:
            _record(store, "start", None, result, good["revision"] if good else "", directory)
        else:
            keep_snapshot(directory, result.policy_set)
        return cls(directory, store, PolicyRuntime(result.policy_set), "start", gate)

    def reload(self, source: str, caller: str | None) -> ReloadOutcome:
        """Load the directory now; on success this worker switches at once, the others within SYNC_SECONDS."""
        with self._lock:
            result = load_gated(self.directory, self.gate)
            outcome = _record(self.store, source, caller, result, self.runtime.revision, self.directory)
            if outcome.changed and result.policy_set is not None:  # compiled only when it is new here
                self._switch(self._cache.get(outcome.revision) or PolicyRuntime(result.policy_set), source)
            self._sync_now()
            return outcome

    def sync(self) -> None:
        """Follow the newest reload row; cheap unless SYNC_SECONDS have passed since the last look."""
        if time.monotonic() - self._checked < SYNC_SECONDS:
            return
        with self._lock:
            self._sync_now()

    def _sync_now(self) -> None:
        self._checked = time.monotonic()
        try:
            seq = self.store.last_reload_seq()
            if seq <= self._seen:
                return
            latest, good = self.store.latest_reloads()
        except StoreError as exc:  # answering with the set we have beats not answering
            log.warning("cannot check for policy reloads: %s", exc)
            self._checked = time.monotonic() + OUTAGE_BACKOFF_SECONDS  # each look may cost a connect time-out
            return
        self._seen = seq
        if good is not None and good["revision"] != self.runtime.revision:
            try:
                self._switch(_runtime_for(good["revision"], self.directory, self._cache), good["source"])
            except StartupError as exc:
                log.error("not switching to %s; %s stays live: %s", good["revision"], self.runtime.revision, exc)
        self._note_error(latest)

    def _switch(self, runtime: PolicyRuntime, source: str) -> None:
        self._cache[runtime.revision] = runtime
        self._cache.move_to_end(runtime.revision)
        while len(self._cache) > KEEP_RUNTIMES:
            self._cache.popitem(last=False)
        self.runtime, self.loaded_at, self.source = runtime, datetime.now(timezone.utc), source
        log.info("now answering with %s (%s)", runtime.revision, source)

    def _note_error(self, latest: dict[str, Any] | None) -> None:
        """The newest attempt's error stays visible until a later attempt succeeds."""
        if latest is None or latest["ok"]:
            self.last_error = None
        else:
            self.last_error = {"at": latest["at"], "source": latest["source"], "caller": latest["caller"],
                               "diagnostics": latest["diagnostics"]}


def _directory_runtime(directory: Path | str) -> PolicyRuntime:
    result = load_policy_set(directory)
    if result.policy_set is None:
        raise StartupError(f"policies in {directory} cannot be loaded:\n{render_text(result.diagnostics)}")
    return PolicyRuntime(result.policy_set)


def _runtime_for(revision: str, directory: Path, cache: dict[str, PolicyRuntime] | None = None) -> PolicyRuntime:
    """A revision's runtime, from policy text on this host only: the cache, the directory if it holds
    that revision, else this host's snapshot of it. Never from the database: a reload row is a signal
    to look, and a row someone inserted cannot change what a worker enforces (docs/contract.md §8)."""
    if cache and revision in cache:
        return cache[revision]
    on_disk = load_policy_set(directory).policy_set  # parsed only: compiled only if it is the one
    if on_disk is not None and on_disk.revision == revision:
        return PolicyRuntime(on_disk)
    snapshot = snapshot_path(directory, revision)
    if snapshot.is_dir():
        runtime, result = load_runtime(snapshot)
        if runtime is not None and runtime.revision == revision:
            return runtime
    raise StartupError(f"revision {revision} is announced live, but neither {directory} nor this host's snapshots hold it")


def snapshot_root(directory: Path | str) -> Path:
    """Where this host keeps the policy sets it accepted from `directory`: local disk, owned by the
    service's user, never the database."""
    key = hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"policy-service-{os.getuid()}" / key


def snapshot_path(directory: Path | str, revision: str) -> Path:
    return snapshot_root(directory) / revision.replace(":", "-")


def keep_snapshot(directory: Path | str, policy_set: PolicySet) -> None:
    """Copy an accepted set's files, so a worker restarted after the directory broke (or moved on)
    answers with what is live. Written once per revision, atomically; a failure only logs."""
    target = snapshot_path(directory, policy_set.revision)
    if target.is_dir():
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".incoming-"))
        for name, text in policy_set.files.items():
            path = scratch / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(scratch, target)
    except OSError as exc:  # another worker won the race, or the disk is full: the directory still serves
        log.warning("policy snapshot %s not kept: %s", target, exc)
