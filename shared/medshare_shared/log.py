"""Structured JSON logging with the trace id of the event being handled.

Log hashes, sizes, ids and reasons; never values from a record. The trace id is
carried in a context variable so every line written while handling one event has
it: consumers take it from the record's W3C `traceparent` header, publishers set it
from the event they send, so one record's lines join up across the four services.
Errors are logged as `describe_error` says: a library's message may quote the input,
so only its type is kept.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medshare_shared.stdio import capture_standard_streams

current_trace_id: ContextVar[str | None] = ContextVar("current_trace_id", default=None)

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
# Libraries quote the input in their messages (pydicom: "Invalid value for VR UI: '1.2...'");
# their quoted parts are dropped. medshare's own messages never carry values.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|b'[^']*'")
_OWN_LOGGERS = ("medshare", "uvicorn", "faststream")


def redact_library_message(logger: str, message: str) -> str:
    if logger.startswith(_OWN_LOGGERS):
        return message
    return _QUOTED.sub("<redacted>", message)


_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,40}")


def _location(parts: tuple[int | str, ...]) -> str:
    # A dict key in a location comes from the input: keep only names shaped like ours.
    return ".".join(
        str(part) if isinstance(part, int) or _FIELD_NAME.fullmatch(part) else "?" for part in parts
    )


def describe_error(error: BaseException) -> str:
    """A reason safe to log or publish: it names the problem, never a value from a record.

    medshare's own exceptions follow that rule, so their message is kept; validation
    errors are reduced to field locations and error types; a library's message may
    quote the input (pydicom, pydantic, json do), so only its type is given.
    """
    if isinstance(error, ValidationError):
        fields = sorted({f"{_location(e['loc'])} ({e['type']})" for e in error.errors()})
        return f"invalid event: {'; '.join(fields[:5])}"
    module = type(error).__module__ or ""
    if module.startswith("medshare_"):
        return f"{type(error).__name__}: {error}"[:500]
    return f"{type(error).__name__} at {raised_where(error)}"


def raised_where(error: BaseException) -> str:
    """`file.py:line (function)` of the innermost frame: where, without any value."""
    frame = error.__traceback__
    if frame is None:
        return "?"
    while frame.tb_next is not None:
        frame = frame.tb_next
    code = frame.tb_frame.f_code
    return f"{Path(code.co_filename).name}:{frame.tb_lineno} ({code.co_name})"


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": redact_library_message(record.name, record.getMessage()),
        }
        trace_id = current_trace_id.get()
        if trace_id:
            line["trace_id"] = trace_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            # No traceback: its frames could echo record content.
            line["error"] = describe_error(record.exc_info[1])
        return json.dumps(line, default=str)


def configure_logging(service: str, level: str = "INFO", *, capture_stdio: bool = True) -> None:
    """JSON lines on standard error; a service also wraps whatever else is printed."""
    stream = capture_standard_streams() if capture_stdio else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Client libraries are chatty at INFO; their warnings still come through.
    for noisy in ("aiokafka", "kafka", "faststream", "urllib3", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
