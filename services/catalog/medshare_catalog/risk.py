"""Re-identification risk of a dataset: k-anonymity and l-diversity, with fixes.

Quasi-identifiers: age band, sex, three-digit ZIP, study year, institution,
modality and device (rare ones single people out). k is the size of the smallest
group of records sharing all of them; l is the smallest number of distinct
diagnoses (the sensitive field) within a group. Below the required k the report
names the small groups and the generalisations (coarser age bands, year periods,
ZIP regions, suppressed fields) that would lift k, found greedily from the
generalisation ladders below, plus the record suppression alternative.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Document = dict[str, Any]
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


# Order = preference when two generalisations help equally (least useful first).
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
    QuasiIdentifier("modality", (Step("rare modalities to OTHER", _suppress),)),
    QuasiIdentifier("institution", (Step("suppress institution", _suppress),)),
    QuasiIdentifier("sex", (Step("suppress sex", _suppress),)),
)
NAMES = tuple(qi.name for qi in QUASI_IDENTIFIERS)


def quasi_identifiers(document: Document) -> tuple[Value, ...]:
    return tuple(document.get(name) for name in NAMES)


def sensitive_value(document: Document) -> tuple[str, ...]:
    return tuple(document.get("diagnosis_codes") or ())


def generalised(
    rows: Sequence[tuple[Value, ...]], levels: Sequence[int]
) -> list[tuple[Value, ...]]:
    """Rows with each quasi-identifier raised to its level on the ladder."""
    out = []
    for row in rows:
        values = []
        for qi, level, value in zip(QUASI_IDENTIFIERS, levels, row, strict=True):
            for step in qi.ladder[:level]:
                value = step.apply(value)
            values.append(value)
        out.append(tuple(values))
    return out


def _rare_modalities_to_other(rows: list[tuple[Value, ...]], k: int) -> list[tuple[Value, ...]]:
    """The modality step only folds modalities rarer than k into OTHER."""
    index = NAMES.index("modality")
    counts = Counter(row[index] for row in rows)
    return [
        (*row[:index], "OTHER", *row[index + 1 :])
        if row[index] not in (None, SUPPRESSED) and counts[row[index]] < k
        else row
        for row in rows
    ]


def grouped(rows: Sequence[tuple[Value, ...]], levels: Sequence[int], k: int) -> Counter[Any]:
    raised = generalised(
        rows, [0 if n == "modality" else lv for n, lv in zip(NAMES, levels, strict=True)]
    )
    if levels[NAMES.index("modality")] > 0:
        raised = _rare_modalities_to_other(raised, k)
    return Counter(raised)


def k_of(groups: Counter[Any]) -> int:
    return min(groups.values()) if groups else 0


def _describe(key: tuple[Value, ...]) -> Document:
    return {name: value for name, value in zip(NAMES, key, strict=True)}


def _steps_taken(levels: Sequence[int]) -> list[str]:
    return [
        step.description
        for qi, level in zip(QUASI_IDENTIFIERS, levels, strict=True)
        for step in qi.ladder[:level]
    ]


def suggest(rows: list[tuple[Value, ...]], k: int) -> Document | None:
    """Greedy: raise one quasi-identifier a level at a time, always the one that helps most."""
    levels = [0] * len(QUASI_IDENTIFIERS)
    while True:
        groups = grouped(rows, levels, k)
        current = k_of(groups)
        if current >= k:
            return {"generalise": _steps_taken(levels), "k": current}
        options = []
        for index, qi in enumerate(QUASI_IDENTIFIERS):
            if levels[index] >= len(qi.ladder):
                continue
            trial = levels.copy()
            trial[index] += 1
            trial_groups = grouped(rows, trial, k)
            exposed = sum(size for size in trial_groups.values() if size < k)
            options.append((k_of(trial_groups) >= k, -exposed, -index, trial))
        if not options:
            return None  # even suppressing everything cannot reach k (too few records)
        levels = max(options)[3]


def l_diversity(documents: Sequence[Document], rows: Sequence[tuple[Value, ...]]) -> Document:
    diagnoses: dict[tuple[Value, ...], set[tuple[str, ...]]] = defaultdict(set)
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
