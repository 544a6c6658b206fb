"""A service's standard streams as log records, so its output stays one JSON object a line.

C libraries (openjpeg, GDCM) print diagnostics straight to file descriptors 1 and 2,
past Python's logging. Those descriptors become one pipe, read by a thread that logs
each line under the logger ``stdio`` (quoted parts redacted, 200 characters at most).
The pipe's write end is non-blocking: a library printing while it holds the GIL into a
full pipe would otherwise wait for a reader that needs the GIL, and the service would
hang; a full pipe drops the excess instead. Python's own ``print`` and tracebacks do
not go through the pipe at all: ``sys.stdout`` and ``sys.stderr`` log directly.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import sys
import threading

MAX_LINE = 200
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux
_guard = threading.local()


def _log_line(text: str) -> None:
    from medshare_shared.log import redact_library_message

    text = text.rstrip()
    if not text or getattr(_guard, "active", False):
        return  # a failing handler reports on sys.stderr: do not loop back into it
    _guard.active = True
    try:
        logging.getLogger("stdio").warning(redact_library_message("stdio", text[:MAX_LINE]))
    finally:
        _guard.active = False


class _LoggingStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr``: whole lines become log records."""

    def __init__(self) -> None:
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            _log_line(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            _log_line(line)


def _forward(read_fd: int) -> None:
    with os.fdopen(read_fd, "rb") as pipe:
        for raw in pipe:
            _log_line(raw.decode("utf-8", "replace"))


def capture_standard_streams() -> io.TextIOWrapper:
    """Routes descriptors 1 and 2 and ``sys.stdout``/``sys.stderr`` into logging; returns
    the stream the JSON lines themselves go to (the original standard error)."""
    log_stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8")
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError):  # a larger pipe drops less; not every kernel allows it
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    os.set_blocking(write_fd, False)
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    threading.Thread(target=_forward, args=(read_fd,), name="stdio", daemon=True).start()
    sys.stdout = _LoggingStream()
    sys.stderr = _LoggingStream()
    return log_stream
