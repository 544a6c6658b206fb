"""What the catalog derives from a record's facts: search fields, release state, lineage.

Folds store only facts taken from events (the de-identified record, each model
result, a quarantine) and stewards' reviews. Everything queries and people read
(facet fields, free-text tokens, the model-result array, the release state and
the lineage) is a pure function of those facts, recomputed after every change, so
the order events arrive in, or how often, cannot change the outcome. The lineage
is computed when a record is read rather than stored: nothing queries it, and
smaller documents scan faster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from medshare_catalog.store.record import CatalogRecord, Document

DERIVED_FIELDS = (
    "modality",
    "body_part",
    "study_year",
    "age_band",
    "sex",
    "zip3",
    "device",
    "diagnosis_codes",
    "text_tokens",
    "results",
    "release",
)
TOKEN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
# Metadata fields whose (de-identified) words free-text search matches.
TEXT_FIELDS = (
    "description",
    "study_description",
    "series_description",
    "body_part",
    "modality",
    "manufacturer",
    "model",
    "diagnosis_codes",
    "diagnosis_displays",
    "feature_groups",
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tokens(values: Iterable[Any]) -> list[str]:
    """Lower-case word tokens (codes like c50.9 kept whole), sorted and unique."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, list | tuple):
            found.update(tokens(value))
        elif isinstance(value, str | int):
            found.update(TOKEN.findall(str(value).lower()))
    return sorted(found)


def _first(metadata: Document, *keys: str) -> Any:
    for key in keys:
        value = metadata.get(key)
        if value not in (None, "", []):
            return value
    return None


def _year(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value[:4].isdigit():
        return int(value[:4])
    return None


def _codes(metadata: Document) -> list[str]:
    raw = _first(metadata, "diagnosis_codes", "diagnoses") or []
    if isinstance(raw, str):
        raw = [raw]
    codes = []
    for item in raw:
        code = item.get("code") if isinstance(item, dict) else item
        if isinstance(code, str) and code.strip():
            codes.append(code.strip().upper())
    return sorted(set(codes))


def search_fields(document: Document) -> Document:
    """Facet and filter fields, tolerant of whichever metadata keys a record kind has."""
    metadata: Document = document.get("metadata") or {}
    dicom: Document = document.get("dicom") or {}
    modality = _first(metadata, "modality") or dicom.get("modality")
    manufacturer, model = _first(metadata, "manufacturer"), _first(metadata, "model")
    device = " ".join(str(part) for part in (manufacturer, model) if part) or None
    sex = _first(metadata, "sex")
    return {
        "modality": str(modality).upper() if modality else None,
        "body_part": str(_first(metadata, "body_part")).upper()
        if _first(metadata, "body_part")
        else None,
        "study_year": _year(_first(metadata, "study_year", "encounter_year", "year"))
        or _year(dicom.get("study_date")),
        "age_band": _first(metadata, "age_band"),
        "sex": str(sex).upper()[:1] if sex else None,
        "zip3": _first(metadata, "zip3"),
        "device": device,
        "diagnosis_codes": _codes(metadata),
        "text_tokens": tokens(
            [metadata.get(field) for field in TEXT_FIELDS]
            + [document.get("kind"), dicom.get("series_description")]
        ),
    }


def model_results(document: Document) -> list[Document]:
    """Every model result, oldest first (ties by name and version), for $elemMatch filters."""
    models: Document = document.get("models") or {}
    results = [
        {
            "model_name": result.get("model_name"),
            "model_version": result.get("model_version"),
            "outputs": result.get("outputs") or {},
            "confidence": result.get("confidence"),
            "error": result.get("error"),
            "at": result.get("at"),
        }
        for result in models.values()
    ]
    return sorted(
        results, key=lambda r: (r["at"] or EPOCH, str(r["model_name"]), str(r["model_version"]))
    )


def flags_text(outputs: Document) -> bool:
    """A detector verdict that says the image carries burned-in text."""
    if "has_text" in outputs:
        return bool(outputs["has_text"])
    label = outputs.get("label")
    return isinstance(label, str) and label.lower() in {"text", "has_text", "positive"}


def latest_gate_verdict(results: Sequence[Document], gates: Sequence[str]) -> Document | None:
    verdicts = [r for r in results if r["model_name"] in gates and not r.get("error")]
    return verdicts[-1] if verdicts else None


def release_state(
    document: Document, results: Sequence[Document], gates: Sequence[str], require_verdict: bool
) -> Document:
    """released / withheld (with the reason) / rejected / pending, from facts and reviews."""
    deid: Document = document.get("deid") or {}
    quarantine: Document | None = document.get("quarantine")
    reviews: list[Document] = document.get("reviews") or []
    review = reviews[-1] if reviews else None
    cause_at: datetime = deid.get("at") or EPOCH
    withheld: str | None = None
    if document.get("duplicate_of"):
        # Another record holds this SOP Instance (instances.py); a conflicting copy waits
        # for a steward, an identical one is simply one more provenance.
        if document.get("instance_conflict"):
            return {
                "state": "withheld",
                "reason": "conflict: its SOP Instance UID is cataloged as record "
                f"{document['duplicate_of']} with other pixel data",
            }
        return {
            "state": "duplicate",
            "reason": f"same instance as record {document['duplicate_of']}",
        }
    if not document.get("cataloged"):
        if review is not None and review["decision"] == "reject":
            # Off the review queue; a release of a held candidate catalogs it instead.
            return {"state": "rejected", "reason": f"rejected by steward {review['by']}: "
                    f"{review['reason']}"}  # fmt: skip
        if quarantine:
            return {"state": "withheld", "reason": f"quarantined: {quarantine['reason']}"}
        return {"state": "pending", "reason": "not de-identified yet"}
    if quarantine and (quarantine.get("at") or EPOCH) >= cause_at:
        withheld, cause_at = f"quarantined: {quarantine['reason']}", quarantine.get("at") or EPOCH
    elif (document.get("deidentification") or {}).get("verifier") == "failed":
        withheld = "de-identification verifier failed"
    elif (document.get("metadata") or {}).get("withheld_reason"):
        withheld = str(document["metadata"]["withheld_reason"])
    elif document.get("object_outside_shared_zone"):
        withheld = "object outside the shared zone"
    if document.get("kind") == "dicom" and withheld is None:
        verdict = latest_gate_verdict(results, gates)
        if verdict is not None and flags_text(verdict["outputs"]):
            probability = verdict["outputs"].get("probability")
            shown = f", p={probability:.2f}" if isinstance(probability, int | float) else ""
            withheld = (
                f"burned-in text flagged by {verdict['model_name']} "
                f"{verdict['model_version']}{shown}"
            )
            cause_at = verdict["at"] or EPOCH
        elif verdict is None and require_verdict and gates:
            withheld = "awaiting " + " or ".join(gates)
    if review is not None:
        by = f"{review['by']}: {review['reason']}"
        if review["decision"] == "reject":
            return {"state": "rejected", "reason": f"rejected by steward {by}"}
        if withheld is None or review["at"] >= cause_at:
            return {"state": "released", "reason": f"released by steward {by}"}
    if withheld is not None:
        return {"state": "withheld", "reason": withheld}
    return {"state": "released", "reason": None}


def lineage(document: CatalogRecord | Document, results: Sequence[Document]) -> list[Document]:
    """The record's history, oldest first: ingest, de-identification, models, reviews."""
    steps: list[Document] = []
    if document.get("ingested_at"):
        steps.append(
            {
                "at": document["ingested_at"],
                "step": "ingested",
                "institution": document.get("institution"),
            }
        )
    if document.get("cataloged"):
        report: Document = document.get("deidentification") or {}
        steps.append(
            {
                "at": (document.get("deid") or {}).get("at"),
                "step": "de-identified",
                "profile": report.get("profile"),
                "options": report.get("options", []),
                "verifier": report.get("verifier"),
                "actions": report.get("actions", {}),
                "object_sha256": (document.get("object") or {}).get("sha256"),
            }
        )
    if document.get("quarantine"):
        quarantine = document["quarantine"]
        steps.append(
            {
                "at": quarantine.get("at"),
                "step": "quarantined",
                "stage": quarantine.get("stage"),
                "reason": quarantine.get("reason"),
            }
        )
    for result in results:
        steps.append(
            {
                "at": result["at"],
                "step": "model",
                "model_name": result["model_name"],
                "model_version": result["model_version"],
                "error": result.get("error"),
            }
        )
    for review in document.get("reviews") or []:
        steps.append(
            {
                "at": review["at"],
                "step": "reviewed",
                "decision": review["decision"],
                "by": review["by"],
                "reason": review["reason"],
            }
        )
    return sorted(steps, key=lambda step: step["at"] or EPOCH)


def derive(document: Document, gates: Sequence[str], require_verdict: bool = False) -> Document:
    """The derived fields stored with a record (what queries filter on)."""
    results = model_results(document)
    derived = search_fields(document)
    derived["results"] = results
    derived["release"] = release_state(document, results, gates, require_verdict)
    return derived


def record_lineage(document: CatalogRecord | Document) -> list[Document]:
    """The lineage of a stored record document."""
    return lineage(document, document.get("results") or model_results(cast(Document, document)))
