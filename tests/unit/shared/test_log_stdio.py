"""A service's output stays one JSON object per line, whatever C libraries print."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import os, logging, sys, time
from medshare_shared.log import configure_logging
configure_logging("probe")
logging.getLogger("medshare.probe").info("own line")
os.write(1, b"Invalid number of tiles : 14540801 x 1\\n")   # as openjpeg prints it
os.write(2, b"native diagnostic on stderr\\n")
print("a print quoting 'DOE^JOHN'")
time.sleep(0.3)
"""

# A C library writing while it holds the GIL (ctypes.PyDLL keeps it): with a blocking
# pipe the write would wait for the reader thread, which needs the GIL: a hung service.
FLOOD = """
import ctypes, logging, time
from medshare_shared.log import configure_logging
configure_logging("probe")
libc = ctypes.PyDLL("libc.so.6")
line = b"x" * 199 + b"\\n"
for _ in range(40_000):  # 8 MB, far beyond any pipe buffer
    libc.write(2, line, len(line))
logging.getLogger("medshare.probe").info("still running")
time.sleep(0.5)
"""


def _records(script: str) -> tuple[list[str], list[dict[str, str]]]:
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60,
                         check=True)  # fmt: skip
    lines = (run.stdout + run.stderr).decode().splitlines()
    return lines, [json.loads(line) for line in lines]  # every line parses


def test_native_and_printed_output_becomes_json_log_lines_without_quoted_values() -> None:
    lines, records = _records(SCRIPT)
    assert [r["msg"] for r in records if r["logger"] == "medshare.probe"] == ["own line"]
    stdio = [r["msg"] for r in records if r["logger"] == "stdio"]
    assert "Invalid number of tiles : 14540801 x 1" in stdio
    assert "native diagnostic on stderr" in stdio
    assert "a print quoting <redacted>" in stdio
    assert not any("DOE^JOHN" in line for line in lines)


def test_a_library_flooding_stderr_while_holding_the_gil_does_not_hang_the_process() -> None:
    _, records = _records(FLOOD)  # subprocess.run's timeout fails the test on a hang
    assert "still running" in [r["msg"] for r in records if r["logger"] == "medshare.probe"]
