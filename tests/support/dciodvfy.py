"""dicom3tools' ``dciodvfy`` as an independent judge of a DICOM file's validity.

Errors are normalised (values, counts and positions stripped) so that an output can be
compared with its input: de-identification may keep the input's own errors, never add one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

DCIODVFY = shutil.which("dciodvfy")

_VALUE = re.compile(r" = <.*?>(?= - |$)")  # keeps Element=<Keyword> and Module=<Name>
_INDEX = re.compile(r"\[\d+\]")
# Numbers other than tags "(0x0008,0x1150)" and types "Type 1C".
_NUMBER = re.compile(r"(?<!Type )(?<![(,x\w])(0x[0-9a-fA-F]+|\d+)\b")
_DOTTED = re.compile(r"#(?:\.#)+")  # UIDs and decimals, whatever their length
_SPACE = re.compile(r"\s+")


def normalise(line: str) -> str:
    """An error line without the values, item numbers and lengths that vary per file."""
    text = line.removeprefix("Error - ").strip()
    text = _NUMBER.sub("#", _INDEX.sub("[#]", _VALUE.sub(" = #", text)))
    text = _DOTTED.sub("#", text)
    return _SPACE.sub(" ", text)


def dciodvfy_errors(data: bytes) -> Counter[str]:
    """Normalised ``Error`` lines of dciodvfy on ``data`` (a Part-10 file's bytes)."""
    assert DCIODVFY is not None, "dciodvfy missing: install the Debian package dicom3tools"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.dcm"
        path.write_bytes(data)
        run = subprocess.run(
            [DCIODVFY, str(path)], capture_output=True,
            timeout=120, check=False,
        )  # fmt: skip
    # Values may hold carriage returns: only newlines end dciodvfy's lines.
    lines = (run.stdout + run.stderr).decode("latin-1").split("\n")
    return Counter(normalise(line) for line in lines if line.startswith("Error - "))


def introduced_errors(source: bytes, output: bytes) -> Counter[str]:
    """Errors the output has beyond those its source already had."""
    return dciodvfy_errors(output) - dciodvfy_errors(source)
