"""Running the app under gunicorn (programmatically, so `policy-service serve` needs no shell), with
the settings of `policy_service.serving.gunicorn_conf`."""

from __future__ import annotations

import multiprocessing
from typing import Any

from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    return min(2 * multiprocessing.cpu_count() + 1, 8)


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        super().__init__()

    def load_config(self) -> None:
        from policy_service.serving import gunicorn_conf

        for key, value in vars(gunicorn_conf).items():
            if key in self.cfg.settings and key != "wsgi_app":
                self.cfg.set(key, value)
        for key, value in self.overrides.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from policy_service.web.app import create_app

        return create_app()


def run_gunicorn(bind: str, workers: int | None) -> None:
    _Server({"bind": bind, **({"workers": workers} if workers else {})}).run()
