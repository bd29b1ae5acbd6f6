"""The optional policy file watcher (off by default; `serve --watch`): runs in the gunicorn master and
reloads when the directory has changed and then stayed unchanged for a moment, so an editor's
half-written save is not what gets validated."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


def directory_state(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of every YAML file: cheap, and any save changes it."""
    files = sorted(p for pattern in ("*.yaml", "*.yml") for p in directory.rglob(pattern))
    state = []
    for path in files:
        try:
            status = path.stat()
        except FileNotFoundError:  # removed between the listing and the stat
            continue
        state.append((str(path.relative_to(directory)), status.st_size, status.st_mtime_ns))
    return tuple(state)


def start_watcher(directory: str | Path, reload: Callable[[], object]) -> threading.Thread:
    root = Path(directory)

    def watch() -> None:
        seen = directory_state(root)
        pending = None
        while True:
            threading.Event().wait(POLL_SECONDS)
            current = directory_state(root)
            if current != seen and current == pending:  # changed, then quiet for one poll
                seen, pending = current, None
                try:
                    reload()
                except Exception:  # noqa: BLE001 - the watcher must outlive one bad reload
                    log.exception("policy reload from the watcher failed")
            elif current != seen:
                pending = current

    thread = threading.Thread(target=watch, name="policy-watcher", daemon=True)
    thread.start()
    log.info("watching %s for policy changes", root)
    return thread
