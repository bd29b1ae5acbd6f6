"""GET /metrics in Prometheus text format, correct with several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (the gunicorn config module sets it before any worker starts), every
worker writes its samples to files there and a scrape, whichever worker answers it, sums them all:
without that, each scrape would show one worker's counts. Without the variable (tests, a single
process) the process's own registry is served.
"""

from __future__ import annotations

import os

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from policy_service.web.access import public
from policy_service.web.operations import documented

blueprint = Blueprint("metrics", __name__)


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@blueprint.get("/metrics")
@public
@documented("Prometheus metrics, summed over every worker", {200: None}, content_types=("text/plain",))
def metrics() -> Response:
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})
