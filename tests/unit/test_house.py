"""The house's walls and its map: who may import whom, module size, and docs/architecture.md.

These read the source as text (imports through `ast`), so they run without servers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {
    "medshare_shared": REPO / "shared" / "medshare_shared",
    "medshare_ingest": REPO / "services" / "ingest" / "medshare_ingest",
    "medshare_anonymizer": REPO / "services" / "anonymizer" / "medshare_anonymizer",
    "medshare_inference": REPO / "services" / "inference" / "medshare_inference",
    "medshare_catalog": REPO / "services" / "catalog" / "medshare_catalog",
    "medshare_infra": REPO / "infra" / "local" / "medshare_infra",
    "medshare_bench": REPO / "infra" / "bench" / "medshare_bench",
}
SERVICES = {"medshare_ingest", "medshare_anonymizer", "medshare_inference", "medshare_catalog"}
# What each package may import of the project's own packages (besides itself).
ALLOWED = {
    "medshare_shared": set(),
    **{service: {"medshare_shared"} for service in SERVICES},
    "medshare_infra": {"medshare_shared"} | SERVICES,
    "medshare_bench": {"medshare_shared", "medshare_infra"} | SERVICES,
}
MAX_LINES = 420


def modules(package: str) -> list[Path]:
    return sorted(PACKAGES[package].rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_packages_import_only_what_they_may(package: str) -> None:
    project = set(PACKAGES)
    breaks = []
    for path in modules(package):
        for root in imported_roots(path) & project - {package} - ALLOWED[package]:
            breaks.append(f"{path.relative_to(REPO)} imports {root}")
    assert not breaks, "\n".join(breaks)


@pytest.mark.parametrize("package", sorted(SERVICES | {"medshare_shared"}))
def test_runtime_packages_do_not_import_benchmark_or_test_code(package: str) -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {root}"
        for path in modules(package)
        for root in imported_roots(path) & {"matplotlib", "tests", "medshare_bench"}
        # Training the burned-in text detector draws text with matplotlib's fonts (train extra).
        if not (root == "matplotlib" and "models" in path.parts)
    ]
    assert not offenders, "\n".join(offenders)


def test_no_module_is_much_over_400_lines() -> None:
    long = [
        f"{path.relative_to(REPO)}: {lines} lines"
        for package in PACKAGES
        for path in modules(package)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


def test_architecture_page_links_every_module_and_every_link_resolves() -> None:
    page = REPO / "docs" / "architecture.md"
    links = re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8"))
    targets = {(page.parent / link).resolve() for link in links if "://" not in link}
    missing_targets = sorted(str(t.relative_to(REPO)) for t in targets if not t.exists())
    assert not missing_targets, f"links to nothing: {missing_targets}"
    unlisted = [
        str(path.relative_to(REPO))
        for package in PACKAGES
        for path in modules(package)
        if path.resolve() not in targets
        and not (path.name == "__init__.py" and path.parent == PACKAGES[package])
    ]
    assert not unlisted, f"modules missing from docs/architecture.md: {unlisted}"
