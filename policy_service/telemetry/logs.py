"""The service's own log: JSON lines on stderr, one per record, for every `policy_service.*` logger
(the request log, reloads, the store, the watcher). Set up once per process, by the app factory in a
worker and by the gunicorn config in the master."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

ROOT_LOGGER = "policy_service"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


def configure_logging() -> None:
    logger = logging.getLogger(ROOT_LOGGER)
    if any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
