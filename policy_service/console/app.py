"""The console on an app: its session and CSRF settings, the filters, and every console page's
blueprint. web/app.py's factory calls `init_app`; a new page module is imported here so its routes and
navigation entry exist before the blueprint is registered."""

from __future__ import annotations

from flask import Flask

from policy_service.console import approvals, decision_log, impact, insights, pages, policies, simulator

__all__ = ["init_app"]

PAGE_MODULES = (approvals, decision_log, impact, insights, policies, simulator)  # imported for their routes on pages.blueprint


def init_app(app: Flask) -> None:
    pages.init_app(app)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(pages.root)
