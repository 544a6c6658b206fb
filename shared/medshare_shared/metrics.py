"""Prometheus metrics of the delivery path every service shares (labelled by service and topic).

A service's own metrics live in that service's `metrics` module.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
EVENTS_RETRIED = Counter(
    "medshare_events_retried_total", "Handling attempts that will be retried", ["service", "topic"]
)
CONSUMER_LAG = Gauge(
    "medshare_consumer_lag",
    "Records in the topic not yet committed by the service's consumer group",
    ["service", "topic"],
)


def reason_category(reason: str | None, limit: int = 48) -> str:
    """A label-sized category of a reason: the words before any detail in brackets or after ':'.

    Reasons name fields, never values, but their details (tag names, counts) would make
    one label per record; the category keeps the metric's cardinality small.
    """
    head = (reason or "unknown").split("(")[0].split(":")[0].strip()
    return head[:limit] or "unknown"
