"""`medshare bench notes` end to end on a few development documents, peers included.

The peers' virtualenv is built (or found) under MEDSHARE_CACHE, from the package index
through the project's wheel cache: a warm build takes seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from medshare_bench.peers.text_scrubbers import TextScrubber, peers_python

DEV = Path(__file__).parents[2] / "corpora" / "case-reports" / "dev"


def _bench(tmp_path: Path, tools: str, limit: int) -> tuple[dict, str]:  # type: ignore[type-arg]
    out = tmp_path / "notes.json"
    done = subprocess.run(
        [sys.executable, "-m", "medshare_shared", "bench", "notes", "--corpus", str(DEV),
         "--limit", str(limit), "--tools", tools, "--out", str(out),
         "--misses", str(tmp_path / "misses.json")],
        env=dict(os.environ), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_bench_notes_scores_medshare_on_dev_documents(tmp_path: Path) -> None:
    result, stdout = _bench(tmp_path, "medshare", 8)
    assert result["benchmark"] == "notes" and result["documents"] == 8
    medshare = result["tools"]["medshare"]
    assert sum(medshare["statuses"].values()) == 8
    assert 0 < medshare["recall"] <= 1 and medshare["reports_per_second"] > 0
    assert set(medshare["recall_per_class"]) >= {"NAME_PATIENT", "DATE", "MRN"}
    assert (tmp_path / "notes.png").stat().st_size > 0
    assert "| free-text recall |" in stdout
    # Misses carry their text only in the local misses file, never in the results.
    misses = json.loads((tmp_path / "misses.json").read_text())["medshare"]
    written = (tmp_path / "notes.json").read_text()
    assert all(m["text"] not in written for m in misses if len(m["text"]) > 6)


def test_bench_notes_compares_the_peers_on_the_same_documents(tmp_path: Path) -> None:
    result, stdout = _bench(tmp_path, "medshare,philter,presidio", 2)
    assert list(result["tools"]) == ["medshare", "philter", "presidio"]
    for name in ("philter", "presidio"):
        peer = result["tools"][name]
        assert peer["statuses"] == {"ok": 2} and peer["version"], name
        assert peer["recall"] > 0.3 and peer["reports_per_second"] > 0, (name, peer)
        assert sum(peer["spans_per_class"].values()) > 20, name
    assert result["tools"]["philter"]["version"] == "0.6.0"
    assert "| philter | presidio |" in stdout


def test_a_peer_worker_answers_every_text_in_order() -> None:
    text = "Seen by Dr. Lakshmi Iyer on 3-May-2024, call 415-555-0143."
    with TextScrubber("philter", peers_python()) as scrubber:
        scrubbed, empty, again = scrubber.scrub([text, "", text])
    assert empty == "" and scrubbed == again
    assert "415-555-0143" not in scrubbed and "Iyer" not in scrubbed
