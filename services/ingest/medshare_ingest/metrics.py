"""Ingest's own metrics: submissions by door and outcome."""

from __future__ import annotations

from prometheus_client import Counter

INGEST_SUBMISSIONS = Counter(
    "medshare_ingest_submissions_total",
    "Submissions by door (http, stow, dimse, kafka) and outcome",
    ["door", "outcome"],
)
