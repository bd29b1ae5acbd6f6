"""Running the app under gunicorn (programmatically, so `policy-service serve` needs no shell)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    return min(2 * multiprocessing.cpu_count() + 1, 8)


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from . import create_app

        return create_app()


def run_gunicorn(bind: str, workers: int | None) -> None:
    # No preload: each worker builds its own engine after the fork (ENGINE_NOTES 11).
    _Server({
        "bind": bind, "workers": workers or default_workers(), "worker_class": "sync",
        "timeout": 30, "graceful_timeout": 30, "preload_app": False, "accesslog": "-",
    }).run()
