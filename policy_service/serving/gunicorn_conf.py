"""gunicorn settings for policy-service; `policy-service serve` uses them, and so can plain gunicorn:

    gunicorn -c python:policy_service.serving.gunicorn_conf

Each setting reads an environment variable first (POLICY_SERVICE_BIND, _WORKERS, _TIMEOUT,
_GRACEFUL_TIMEOUT), so a container sets them without a file of its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Not `config`: gunicorn reads every module-level name of this file as one of its settings, and
# `config` is one of them.
from policy_service import config as service_config
from policy_service.serving.serve import default_workers

_settings = service_config.settings()
if not _settings.secret_key:
    # The console's sessions must verify in every worker (and in a worker that replaces one): one
    # random key for this instance, made once here in the master and inherited by every worker it forks.
    # Sessions end when the instance restarts; POLICY_SERVICE_SECRET_KEY keeps them (docs/operations.md).
    os.environ["POLICY_SERVICE_SECRET_KEY"] = secrets.token_urlsafe(32)
wsgi_app = "policy_service:create_app()"
bind = _settings.bind
workers = _settings.workers or default_workers()
# Sync workers: a decision is a few milliseconds of CPU and one short transaction; threads would only
# queue on the engine's process-wide lock (docs/engine.md §1).
worker_class = "policy_service.serving.worker.HeaderBoundSyncWorker"  # sync, with a deadline for headers
# No preload: each worker builds its own rules engine after the fork (docs/engine.md §11).
preload_app = False
timeout = _settings.timeout
# On SIGTERM or SIGHUP, a worker finishes the request in hand before it exits: in-flight decisions are
# answered and recorded, not cut off.
graceful_timeout = _settings.graceful_timeout
keepalive = 5
# The app writes one JSON line per request (web/request_log.py); gunicorn's own access log would
# duplicate it without the request id.
accesslog = None
errorlog = "-"
# Not every reverse proxy cleans these; only trust them from loopback.
forwarded_allow_ips = "127.0.0.1"


def runtime_directory() -> str:
    """This instance's own directory for the files it keeps while it runs, removed when it exits.

    gunicorn 25+ opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl, else ~/.gunicorn/gunicorn.ctl:
    one path for every instance of the user, so a second instance took over the first's socket and the
    first to stop unlinked the one the other was using. Each instance's socket (and, unless
    PROMETHEUS_MULTIPROC_DIR names one, its metrics directory) lives here instead, in a fresh
    directory only this instance uses."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    return tempfile.mkdtemp(prefix="policy-service-", dir=base if base and os.path.isdir(base) else None)


_runtime_directory = runtime_directory()
control_socket = os.path.join(_runtime_directory, "gunicorn.ctl")  # for gunicornc: gunicornc -s <this path>


def metrics_directory() -> str:
    """Where every worker writes its Prometheus samples (web/metrics.py). Set here, in the master,
    before any worker imports prometheus_client: the library picks its storage when first imported."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="metrics-", dir=_runtime_directory)
    os.makedirs(directory, exist_ok=True)
    # A previous run's sample files would be summed into this run's counters; only those go (the
    # directory may be one an operator chose, so nothing else in it is touched).
    for stale in Path(directory).glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


metrics_directory()


# Workers take the live revision from the reload log that the hooks below write (reloading.py), so a
# worker restarted after a crash answers with what is live, not with whatever the directory holds.
os.environ["POLICY_SERVICE_FOLLOW_RELOADS"] = "1"


def _check_policies(source: str) -> bool:
    """Validate the policy directory and record the attempt (the master builds no engine)."""
    from policy_service.decisionlog import DecisionStore
    from policy_service.policytest.gate import failing_cases
    from policy_service.service.reloading import check_directory

    settings = service_config.settings()  # read again: the master outlives changes `serve` made before it started
    store = DecisionStore(settings.log_url)
    try:
        store.prepare()
        gate = None if settings.allow_failing_tests else failing_cases  # a set whose own cases fail is refused
        return check_directory(settings.policies, store, source, gate=gate).ok
    finally:
        store.dispose()


def on_starting(server: Any) -> None:
    """A server never starts on a broken policy set: the positioned errors are logged and it exits."""
    from policy_service.telemetry.logs import configure_logging

    configure_logging()
    if not _check_policies("start"):
        raise SystemExit(1)


def on_reload(server: Any) -> None:
    """SIGHUP: reload the policies (a broken set is refused and recorded; the live one stays), then
    gunicorn replaces the workers gracefully: in-flight requests finish, none is dropped."""
    _check_policies("sighup")


def when_ready(server: Any) -> None:
    if service_config.settings().watch:
        from policy_service.serving.watcher import start_watcher

        start_watcher(service_config.settings().policies, lambda: _check_policies("watcher"))


def on_exit(server: Any) -> None:
    """The instance's runtime files go with it; another instance's are in another directory."""
    shutil.rmtree(_runtime_directory, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's counters stay in the sums; only its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
