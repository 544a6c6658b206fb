"""A service's output stays one JSON object per line, whatever C libraries print."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import os, logging, sys
from medshare_shared.log import configure_logging
configure_logging("probe")
logging.getLogger("medshare.probe").info("own line")
os.write(1, b"Invalid number of tiles : 14540801 x 1\\n")   # as openjpeg prints it
os.write(2, b"native diagnostic on stderr\\n")
print("a print quoting 'DOE^JOHN'", flush=True)
logging.shutdown()
import time; time.sleep(0.3)
"""


def test_native_and_printed_output_becomes_json_log_lines_without_quoted_values() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60,
                         check=True)  # fmt: skip
    lines = (run.stdout + run.stderr).decode().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses
    assert [r["msg"] for r in records if r["logger"] == "medshare.probe"] == ["own line"]
    stdio = [r["msg"] for r in records if r["logger"] == "stdio"]
    assert "Invalid number of tiles : 14540801 x 1" in stdio
    assert "native diagnostic on stderr" in stdio
    assert not any("DOE^JOHN" in line for line in lines)
