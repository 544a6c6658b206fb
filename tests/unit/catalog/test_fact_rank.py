"""A fact's rank string must sort exactly like its (event time, event id) pair."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from medshare_catalog.store.record import fact_rank
from medshare_catalog.store.records import newer_than_stored

T0 = datetime(2026, 3, 1, 9, 59, 59, 999000, tzinfo=UTC)


def test_rank_orders_by_time_then_event_id() -> None:
    moments = [
        T0,
        T0 + timedelta(milliseconds=1),
        T0 + timedelta(days=400),
        T0 - timedelta(hours=30),
    ]
    ids = ["0a", "0b", "f", "9ffffff"]
    pairs = list(itertools.product(moments, ids))
    by_pair = sorted(pairs)
    by_rank = sorted(pairs, key=lambda pair: fact_rank(*pair))
    assert by_rank == by_pair


def test_rank_is_the_same_instant_in_any_time_zone() -> None:
    elsewhere = T0.astimezone(timezone(timedelta(hours=-5)))
    assert fact_rank(elsewhere, "e") == fact_rank(T0, "e")


def test_guard_is_one_condition_on_the_rank() -> None:
    # One predicate besides _id keeps SecantusDB on the _id index (see records.py).
    guard = newer_than_stored("deid", T0, "e1")
    assert guard == {"deid.rank": {"$not": {"$gte": fact_rank(T0, "e1")}}}
