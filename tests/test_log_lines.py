"""The service's JSON log lines (docs/operations.md): the request log's lines are written straight to the
configured stream when nothing else would see them, and go through logging's records whenever an
operator (or a test harness) has added a filter, a handler or a level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from policy_service.telemetry.logs import ROOT_LOGGER, JsonLinesHandler, log_fields

FIELDS: dict[str, object] = {"request_id": "crm-7", "method": "POST", "route": "/v1/decisions", "status": 201,
                             "latency_ms": 0.512, "decision_id": "dec_01", "caller": "Núñez"}


@pytest.fixture()
def stream() -> Iterator[io.StringIO]:
    """The service's root logger as configure_logging leaves it, writing to a buffer. (pytest adds its
    capturing handlers to non-propagating loggers for each test's call: `_alone` takes them off.)"""
    root = logging.getLogger(ROOT_LOGGER)
    saved = (root.handlers[:], root.level, root.propagate)
    handler = JsonLinesHandler()
    buffer = io.StringIO()
    handler.setStream(buffer)
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    try:
        yield buffer
    finally:
        root.handlers[:], level, root.propagate = saved
        root.setLevel(level)


def _alone() -> logging.Logger:
    root = logging.getLogger(ROOT_LOGGER)
    root.handlers[:] = [h for h in root.handlers if isinstance(h, JsonLinesHandler)]
    return logging.getLogger("policy_service.requests")


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_line_holds_what_a_record_of_it_would(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    logger = _alone()
    made: list[str] = []
    make_record = logging.Logger.makeRecord
    monkeypatch.setattr(logging.Logger, "makeRecord", lambda self, *a, **k: made.append(a[0]) or make_record(self, *a, **k))
    log_fields(logger, "request", FIELDS)
    assert made == []  # written straight to the stream
    logger.info("request", extra={"fields": FIELDS})  # the standard path, through a LogRecord
    direct, standard = _lines(stream)
    assert direct.keys() == standard.keys() and list(direct)[:4] == ["ts", "level", "logger", "msg"]
    assert {k: v for k, v in direct.items() if k != "ts"} == {k: v for k, v in standard.items() if k != "ts"}
    assert direct["ts"][:16] == standard["ts"][:16] and direct["ts"].endswith("+00:00") and len(direct["ts"]) == 29


def test_a_filter_on_the_logger_still_decides(stream: io.StringIO) -> None:
    logger = _alone()
    dropped = logging.Filter("elsewhere")  # passes only records of the "elsewhere" logger
    logger.addFilter(dropped)
    try:
        log_fields(logger, "request", FIELDS)
    finally:
        logger.removeFilter(dropped)
    assert stream.getvalue() == ""


def test_another_handler_gets_the_record_and_the_stream_its_line(stream: io.StringIO) -> None:
    records: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = records.append  # type: ignore[method-assign]
    logger = _alone()
    logging.getLogger(ROOT_LOGGER).addHandler(collector)
    log_fields(logger, "request", FIELDS)
    assert [r.fields for r in records] == [FIELDS]  # type: ignore[attr-defined]
    assert [line["request_id"] for line in _lines(stream)] == ["crm-7"]


def test_a_level_on_the_handler_is_kept(stream: io.StringIO) -> None:
    logger = _alone()
    logging.getLogger(ROOT_LOGGER).handlers[0].setLevel(logging.WARNING)
    log_fields(logger, "request", FIELDS)
    assert stream.getvalue() == ""


def test_a_stream_that_fails_is_reported_as_logging_reports_it(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[logging.LogRecord] = []
    logger = _alone()
    handler = logging.getLogger(ROOT_LOGGER).handlers[0]
    monkeypatch.setattr(handler, "handleError", reported.append)
    stream.close()  # writing raises ValueError now
    log_fields(logger, "request", FIELDS)  # and the request goes on
    assert [r.fields["request_id"] for r in reported] == ["crm-7"]  # type: ignore[attr-defined]


def test_a_stream_that_fails_after_writing_gets_the_line_once(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[logging.LogRecord] = []
    logger = _alone()
    handler = logging.getLogger(ROOT_LOGGER).handlers[0]
    monkeypatch.setattr(handler, "handleError", reported.append)
    monkeypatch.setattr(stream, "flush", lambda: (_ for _ in ()).throw(OSError("disk full")))
    log_fields(logger, "request", FIELDS)
    assert [line["request_id"] for line in _lines(stream)] == ["crm-7"] and len(reported) == 1


def test_what_an_operator_changes_in_logging_still_shapes_the_line(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    logger = _alone()
    handler = logging.getLogger(ROOT_LOGGER).handlers[0]
    monkeypatch.setitem(logging._levelToName, logging.INFO, "NOTICE")  # what logging.addLevelName(INFO, "NOTICE") sets
    log_fields(logger, "request", FIELDS)
    assert _lines(stream)[-1]["level"] == "notice"
    factory = logging.getLogRecordFactory()

    def renaming(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.msg = f"http {record.msg}"
        return record
    monkeypatch.setattr(logging, "_logRecordFactory", renaming)
    log_fields(logger, "request", FIELDS)
    assert _lines(stream)[-1]["msg"] == "http request"
    monkeypatch.setattr(logging, "_logRecordFactory", factory)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log_fields(logger, "request", FIELDS)
    assert stream.getvalue().splitlines()[-1] == "NOTICE policy_service.requests request"
