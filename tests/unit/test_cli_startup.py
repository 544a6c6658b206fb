"""The command line starts without importing what its command does not use.

Measured as import cost, not wall time (the machine may be busy): after `medshare
--help` and after `medshare deid dicom --help`, none of the heavy libraries is loaded,
and the summed self-import time reported by ``python -X importtime`` stays small.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "pandas", "matplotlib", "spacy", "onnxruntime", "cv2", "scipy")

_PROBE = """
import json, sys
from medshare_shared.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    sys.stdout.flush()
    top = sorted({name.split(".")[0] for name in sys.modules})
    sys.stderr.write("\\nLOADED " + json.dumps(top) + "\\n")
"""


def _start(*args: str) -> tuple[set[str], float]:
    """(top-level modules loaded, summed self-import seconds) for `medshare ARGS`."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", _PROBE, *args],
                         capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    loaded: set[str] = set()
    total_us = 0
    for line in run.stderr.splitlines():
        if line.startswith("LOADED "):
            loaded = set(json.loads(line.removeprefix("LOADED ")))
        elif line.startswith("import time:") and "|" in line:
            field = line.removeprefix("import time:").split("|")[0].strip()
            if field.isdigit():
                total_us += int(field)
    assert loaded, run.stderr[-2000:]
    return loaded, total_us / 1e6


@pytest.mark.parametrize(
    ("args", "budget_s"),
    [(("--help",), 3.0), (("deid", "--help"), 3.0), (("deid", "dicom", "--help"), 3.0)],
)
def test_command_line_imports_nothing_heavy(args: tuple[str, ...], budget_s: float) -> None:
    loaded, seconds = _start(*args)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    # Generous, since -X importtime measures wall time on a shared machine: about
    # 0.1 s on an idle core for each.
    assert seconds < budget_s, seconds


def test_deid_dicom_does_not_load_the_engine_before_it_runs() -> None:
    loaded, _ = _start("deid", "dicom", "--help")
    assert "medshare_anonymizer" in loaded
    assert loaded.isdisjoint({"pydicom", "numpy", "pydantic", "rich"}), loaded
