"""Prometheus metrics shared by every service (labelled by service and topic)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_CONSUMED = Counter("medshare_events_consumed_total", "Events consumed", ["service", "topic"])
EVENTS_PRODUCED = Counter("medshare_events_produced_total", "Events produced", ["service", "topic"])
EVENTS_FAILED = Counter(
    "medshare_events_failed_total", "Events whose handling failed", ["service", "topic", "reason"]
)
PROCESSING_SECONDS = Histogram(
    "medshare_processing_seconds",
    "Time to handle one event",
    ["service", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
