"""Which copy of a DICOM instance the catalog lists, and which copies conflict."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from medshare_catalog.store.derive import release_state
from medshare_catalog.store.instances import resolve

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def copy(record_id: str, minutes: int, pixels: str = "p1") -> dict[str, Any]:
    return {"record_id": record_id, "institution": f"inst-{record_id}", "door": "http",
            "ingested_at": T0 + timedelta(minutes=minutes), "pixel_sha256": pixels,
            "rank": "r"}  # fmt: skip


def test_earliest_copy_is_listed_whatever_the_order() -> None:
    copies = [copy("b", 5), copy("a", 9), copy("c", 1), copy("d", 1)]
    outcomes = {
        (canonical, tuple(entry["record_id"] for entry in listed))
        for canonical, listed in (resolve(list(order)) for order in itertools.permutations(copies))
    }
    assert outcomes == {("c", ("c", "d", "b", "a"))}  # ties by record id


def test_other_pixels_are_a_conflict_other_headers_are_not() -> None:
    canonical, listed = resolve([copy("a", 1), copy("b", 2), copy("c", 3, pixels="p2")])
    assert canonical == "a"
    assert [entry["conflict"] for entry in listed] == [False, False, True]
    assert all("rank" not in entry for entry in listed)


def test_duplicates_are_not_listed_and_conflicts_wait_for_a_steward() -> None:
    plain = {"duplicate_of": "a", "instance_conflict": False, "cataloged": False}
    assert release_state(plain, [], ("burned-in-text",), False)["state"] == "duplicate"
    clash = {**plain, "instance_conflict": True}
    state = release_state(clash, [], ("burned-in-text",), False)
    assert state["state"] == "withheld" and "conflict" in state["reason"]
