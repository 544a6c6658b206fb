"""The anonymizer's own metrics: de-identification actions and quarantined records."""

from __future__ import annotations

from prometheus_client import Counter

DEID_ACTIONS = Counter(
    "medshare_deid_actions_total", "De-identification actions applied, by action type", ["action"]
)
QUARANTINED = Counter(
    "medshare_quarantined_total", "Records quarantined, by reason category", ["reason"]
)
