"""`medshare ingest --help` shows the import form; reasons are grouped; the journal's home."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from medshare_ingest.cli import cli, default_journal, grouped_reasons


def test_help_shows_the_import_form() -> None:
    shown = CliRunner().invoke(cli, ["--help"], prog_name="medshare ingest").output
    assert shown.startswith("Usage: medshare ingest PATH...")
    assert "medshare ingest PATH... [--institution ID]" in shown


def test_journal_lives_in_the_state_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/tmp/state")
    assert default_journal("north") == Path("/tmp/state/medshare/imports/north.journal")


def test_reasons_one_line_each_cut_and_counted_together() -> None:
    reasons = Counter({"bad header\nat offset 12": 2, "bad header\nat offset 99": 1, "x" * 300: 1})
    grouped = grouped_reasons(reasons, width=50)
    assert grouped["bad header"] == 3
    assert all(len(line) <= 50 and "\n" not in line for line in grouped)
