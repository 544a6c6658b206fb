"""Re-identification risk of a dataset: k-anonymity and l-diversity, with fixes.

Quasi-identifiers: age band, sex, three-digit ZIP, study year, institution,
modality and device (rare ones single people out). k is the size of the smallest
group of records sharing all of them; l is the smallest number of distinct
diagnoses (the sensitive field) within a group. Below the required k the report
names the small groups and the generalisations (coarser age bands, year periods,
ZIP regions, suppressed fields) that would lift k: the cheapest combination of
steps on the ladders below (a full-domain search over at most 864 combinations,
run on distinct rows with their counts), plus the record suppression alternative.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from medshare_catalog.store.record import Document

Value = Any
SHOWN_GROUPS = 20
SUPPRESSED = "*"


def _age_20(value: Value) -> Value:
    if not isinstance(value, str):
        return value
    if value.endswith("+"):
        return "80+"
    low = value.split("-")[0]
    if not low.isdigit():
        return value
    start = int(low) // 20 * 20
    return "80+" if start >= 80 else f"{start}-{start + 19}"


def _year_span(years: int) -> Callable[[Value], Value]:
    def generalise(value: Value) -> Value:
        if not isinstance(value, int):
            return value
        start = value // years * years
        return f"{start}-{start + years - 1}"

    return generalise


def _zip_region(value: Value) -> Value:
    return f"{value[0]}**" if isinstance(value, str) and value[:1].isdigit() else value


def _suppress(_: Value) -> Value:
    return SUPPRESSED


@dataclass(frozen=True)
class Step:
    description: str
    apply: Callable[[Value], Value]


@dataclass(frozen=True)
class QuasiIdentifier:
    name: str
    ladder: tuple[Step, ...]  # successively coarser; the last suppresses the field
    cost: int = 1  # information lost per step: some fields matter more to research


def _rare_to_other(value: Value) -> Value:
    return value  # applied with the dataset's counts in `grouped`


QUASI_IDENTIFIERS: tuple[QuasiIdentifier, ...] = (
    QuasiIdentifier("device", (Step("suppress device", _suppress),)),
    QuasiIdentifier(
        "zip3",
        (Step("ZIP3 to first digit (region)", _zip_region), Step("suppress ZIP3", _suppress)),
    ),
    QuasiIdentifier(
        "study_year",
        (
            Step("study year to 5-year periods", _year_span(5)),
            Step("study year to decades", _year_span(10)),
            Step("suppress study year", _suppress),
        ),
    ),
    QuasiIdentifier(
        "age_band",
        (Step("age to 20-year bands", _age_20), Step("suppress age band", _suppress)),
    ),
    QuasiIdentifier(
        "modality",
        (Step("rare modalities to OTHER", _rare_to_other), Step("suppress modality", _suppress)),
    ),
    QuasiIdentifier("institution", (Step("suppress institution", _suppress),), cost=3),
    QuasiIdentifier("sex", (Step("suppress sex", _suppress),), cost=3),
)
NAMES = tuple(qi.name for qi in QUASI_IDENTIFIERS)
MODALITY = NAMES.index("modality")
Row = tuple[Value, ...]


def quasi_identifiers(document: Document) -> Row:
    return tuple(document.get(name) for name in NAMES)


def sensitive_value(document: Document) -> tuple[str, ...]:
    return tuple(document.get("diagnosis_codes") or ())


def _raise(value: Value, qi: QuasiIdentifier, level: int) -> Value:
    for step in qi.ladder[:level]:
        value = step.apply(value)
    return value


def generalised(rows: Sequence[Row], levels: Sequence[int]) -> list[Row]:
    """Rows with each quasi-identifier raised to its level on the ladder (modality as is)."""
    return [
        tuple(
            value if index == MODALITY else _raise(value, qi, level)
            for index, (qi, level, value) in enumerate(
                zip(QUASI_IDENTIFIERS, levels, row, strict=True)
            )
        )
        for row in rows
    ]


def grouped(rows: Sequence[Row] | Counter[Row], levels: Sequence[int], k: int) -> Counter[Row]:
    """Group sizes after generalising; rows may come pre-counted (distinct row -> count)."""
    counted = rows if isinstance(rows, Counter) else Counter(rows)
    modality_level = levels[MODALITY]
    modality_counts: Counter[Value] = Counter()
    if modality_level == 1:
        for row, size in counted.items():
            modality_counts[row[MODALITY]] += size
    memo: dict[tuple[int, Value], Value] = {}

    def raised(index: int, value: Value) -> Value:
        if index == MODALITY:
            if modality_level >= 2:
                return SUPPRESSED
            if modality_level == 1 and value is not None and modality_counts[value] < k:
                return "OTHER"
            return value
        key = (index, value)
        if key not in memo:
            memo[key] = _raise(value, QUASI_IDENTIFIERS[index], levels[index])
        return memo[key]

    out: Counter[Row] = Counter()
    for row, size in counted.items():
        out[tuple(raised(index, value) for index, value in enumerate(row))] += size
    return out


def k_of(groups: Counter[Any]) -> int:
    return min(groups.values()) if groups else 0


def _describe(key: Row) -> Document:
    return {name: value for name, value in zip(NAMES, key, strict=True)}


def _steps_taken(levels: Sequence[int]) -> list[str]:
    return [
        step.description
        for qi, level in zip(QUASI_IDENTIFIERS, levels, strict=True)
        for step in qi.ladder[:level]
    ]


def _lattice() -> list[tuple[int, ...]]:
    """Every combination of levels, cheapest first (ties: least useful fields first)."""
    ranges = [range(len(qi.ladder) + 1) for qi in QUASI_IDENTIFIERS]
    combos = list(itertools.product(*ranges))

    def cost(levels: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        total = sum(level * qi.cost for level, qi in zip(levels, QUASI_IDENTIFIERS, strict=True))
        return total, tuple(reversed(levels))

    return sorted(combos, key=cost)


LATTICE = _lattice()


def suggest(rows: Sequence[Row], k: int) -> Document | None:
    """The cheapest full-domain generalisation reaching k (searched over the whole lattice)."""
    counted = Counter(rows)
    for levels in LATTICE:
        groups = grouped(counted, levels, k)
        if k_of(groups) >= k:
            return {"generalise": _steps_taken(levels), "k": k_of(groups)}
    return None  # even suppressing everything cannot reach k (too few records)


def l_diversity(documents: Sequence[Document], rows: Sequence[Row]) -> Document:
    diagnoses: dict[Row, set[tuple[str, ...]]] = defaultdict(set)
    for document, row in zip(documents, rows, strict=True):
        diagnoses[row].add(sensitive_value(document))
    values = [len(found) for found in diagnoses.values()]
    return {"l": min(values) if values else 0, "groups": len(values)}


def assess(documents: Sequence[Document], required_k: int, required_l: int = 1) -> Document:
    """The risk report a dataset page shows and a freeze checks."""
    rows = [quasi_identifiers(doc) for doc in documents]
    groups = Counter(rows)
    k = k_of(groups)
    small = sorted(
        ((key, size) for key, size in groups.items() if size < required_k), key=lambda item: item[1]
    )
    diversity = l_diversity(documents, rows)
    report: Document = {
        "records": len(rows),
        "quasi_identifiers": list(NAMES),
        "groups": len(groups),
        "k": k,
        "required_k": required_k,
        "l": diversity["l"],
        "required_l": required_l,
        "small_groups": [
            {"quasi_identifiers": _describe(key), "size": size}
            for key, size in small[:SHOWN_GROUPS]
        ],
        "small_group_count": len(small),
        "records_in_small_groups": sum(size for _, size in small),
        "suggestions": [],
    }
    problems = []
    if not rows:
        problems.append("the dataset holds no records")
    elif k < required_k:
        problems.append(
            f"k-anonymity {k} is below the required {required_k}: {len(small)} group(s) "
            f"of fewer than {required_k} records share all quasi-identifiers"
        )
        fix = suggest(rows, required_k)
        if fix is not None:
            report["suggestions"].append(fix)
        remaining = len(rows) - report["records_in_small_groups"]
        if remaining:
            report["suggestions"].append(
                {
                    "suppress_records": report["records_in_small_groups"],
                    "k": k_of(
                        Counter({key: size for key, size in groups.items() if size >= required_k})
                    ),
                }
            )
    if rows and diversity["l"] < required_l:
        problems.append(
            f"l-diversity {diversity['l']} of diagnosis is below the required {required_l}"
        )
    report["passes"] = not problems
    report["problems"] = problems
    return report
