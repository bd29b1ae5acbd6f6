"""The service's own log: JSON lines on stderr, one per record, for every `policy_service.*` logger
(the request log, reloads, the store, the watcher). Set up once per process, by the app factory in a
worker and by the gunicorn config in the master."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping

import orjson

ROOT_LOGGER = "policy_service"


# Built once: json.dumps with options builds an encoder per call, and this runs for every request.
_standard = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _encode(line: Mapping[str, object]) -> str:
    """One compact JSON line; orjson takes a tenth of the standard encoder's time. What it refuses (an
    integer past 64 bits, a key that is not text) the standard encoder writes. Lines hold ids, counts
    and times; a float is spelled the shortest way (0.00001, not 1e-05), NaN as null."""
    try:
        return orjson.dumps(line, default=str).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return _standard(line)


def _line(created: float, msecs: float, level: str, logger: str, message: str,
          fields: Mapping[str, object]) -> dict[str, object]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(created))) + f".{int(msecs):03d}+00:00"
    line: dict[str, object] = {"ts": ts, "level": level, "logger": logger, "msg": message}
    line.update(fields)
    return line


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = _line(record.created, record.msecs, record.levelname.lower(), record.name, record.getMessage(),
                     getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


class JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler configure_logging installs: records as JSON lines, and `log_fields`'s lines
    written straight to the stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonLines())

    def write_line(self, text: str) -> Exception | None:
        """One formatted line, as `emit` writes a record's (once); what the stream raised, if anything."""
        self.acquire()
        try:
            self.stream.write(text + self.terminator)
            self.flush()
            return None
        except Exception as exc:  # noqa: BLE001 - reported by the caller through handleError, as emit does
            return exc
        finally:
            self.release()


def log_fields(logger: logging.Logger, message: str, fields: dict[str, object]) -> None:
    """`logger.info(message, extra={"fields": fields})`, the same line for the same handlers.

    When the line's only destination is this module's handler, as configured, it is written without
    a LogRecord and the logging module's dispatch, which in a request cost about two thirds of its
    ~24 µs (docs/performance.md). Any other set-up (a filter, another handler, a level on the handler)
    gets a record as usual, built without the stack walk that finds the caller's file and line, which
    JSON lines never show."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _only_handler(logger)
    if handler is None:
        logger.handle(_record(logger, message, fields))
        return
    now = time.time()
    line = _line(now, (now - int(now)) * 1000, logging.getLevelName(logging.INFO).lower(), logger.name, message, fields)
    if handler.write_line(_encode(line)) is not None:  # as StreamHandler.emit reports a failed write
        handler.handleError(_record(logger, message, fields))


def _record(logger: logging.Logger, message: str, fields: dict[str, object]) -> logging.LogRecord:
    return logger.makeRecord(logger.name, logging.INFO, "", 0, message, (), None, extra={"fields": fields})


def _only_handler(logger: logging.Logger) -> JsonLinesHandler | None:
    """The handler an INFO record of `logger` would reach, if it is the only one, is ours with its own
    formatter, and nothing filters or changes the record on the way (a logger's own filters, then the
    handler's; parents' filters never apply; a record factory or a Logger subclass may do anything)."""
    if logger.filters or type(logger) is not logging.Logger or logging.getLogRecordFactory() is not logging.LogRecord:
        return None
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        found.extend(current.handlers)
        if not current.propagate:
            break
        current = current.parent
    if len(found) != 1:  # none: logging's last resort decides; several: each gets the record
        return None
    handler = found[0]
    if (type(handler) is not JsonLinesHandler or type(handler.formatter) is not JsonLines or handler.filters
            or handler.level > logging.INFO):
        return None
    return handler


def configure_logging() -> None:
    logger = logging.getLogger(ROOT_LOGGER)
    if any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        return
    logger.addHandler(JsonLinesHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False
