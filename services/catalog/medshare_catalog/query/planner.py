"""How many records a filter matched last time: what chooses a search's plan.

A guess only. It picks how a page is read, never what the page holds: both plans
return the same records (search.py). Until a filter has been counted once, a
filter on nothing but the scope's own fields (what the caller may see: institution,
kind, release state) is taken to be large, anything narrower to be small.
"""

from __future__ import annotations

import json
from collections import OrderedDict

from medshare_catalog.store.record import Document

# Above this many matching records, sorting all of them on the server costs more
# than counting them alone and reading the page window by window.
WINDOWED_FROM = 3000
SCOPE_FIELDS = frozenset({"cataloged", "institution", "kind", "release.state", "$or"})
REMEMBERED = 512


def shape(filters: list[Document]) -> str:
    return json.dumps(filters, sort_keys=True, default=str)


class ResultSizes:
    def __init__(self) -> None:
        self.totals: OrderedDict[str, int] = OrderedDict()

    def expected(self, filters: list[Document]) -> int:
        known = self.totals.get(shape(filters))
        if known is not None:
            return known
        broad = all(next(iter(condition)) in SCOPE_FIELDS for condition in filters)
        return WINDOWED_FROM + 1 if broad else 0

    def observe(self, filters: list[Document], total: int) -> None:
        key = shape(filters)
        self.totals[key] = total
        self.totals.move_to_end(key)
        while len(self.totals) > REMEMBERED:
            self.totals.popitem(last=False)
