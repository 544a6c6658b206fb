"""Small-cell suppression: counts below a threshold are published as "<k", not exactly.

A facet or histogram cell of one or two records can single a person out once
combined with other facts; researchers see such counts as "<5" (the threshold is
MEDSHARE_CATALOG_SMALL_CELL). Zero stays zero, and stewards and admins, who see
every record anyway, get exact counts.
"""

from __future__ import annotations

from typing import Any


def suppress_small_cells(value: Any, threshold: int) -> Any:
    """A copy of a facets/statistics answer with every `count` in 1..threshold-1 hidden."""
    if isinstance(value, list):
        return [suppress_small_cells(item, threshold) for item in value]
    if not isinstance(value, dict):
        return value
    shown: dict[str, Any] = {}
    for key, item in value.items():
        small = (
            key == "count"
            and isinstance(item, int)
            and not isinstance(item, bool)
            and 0 < item < threshold
        )
        shown[key] = f"<{threshold}" if small else suppress_small_cells(item, threshold)
    return shown
