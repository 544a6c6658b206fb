"""DICOM de-identification by PS3.15 Annex E (2024) with its options, verified.

``deidentify_dicom`` parses Part-10 bytes into element offsets, refuses what cannot
be made safe, rewrites the dataset in one pass with the cached action table, records
the method, cleans pixels when asked and possible, then parses its own output again
and verifies that no identifying source value survives. Reasons and findings name
attributes, never values.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from pydicom import dcmread

from medshare_anonymizer.dicom_bytes import (
    DicomFormatError,
    Part10,
    deflate,
    parse_part10,
    read_part10,
)
from medshare_anonymizer.dicom_checks import Refusal, check_instance, has_pixels, patient_key
from medshare_anonymizer.dicom_metadata import searchable_metadata
from medshare_anonymizer.dicom_method import file_meta, method_elements
from medshare_anonymizer.dicom_pixels import PixelCleaningError, clean_pixels
from medshare_anonymizer.dicom_profile import ActionTable, action_table, keyword_tag
from medshare_anonymizer.dicom_rewrite import Chunks, Rewriter
from medshare_anonymizer.dicom_verifier import collect_needles, find_leaks
from medshare_anonymizer.dicom_view import DatasetView
from medshare_anonymizer.pixel_rules import (
    ENCAPSULATED_DOCUMENT_SOP_CLASSES,
    Box,
    burned_in_suspicion,
    cleaning_regions,
    visual_features_suspicion,
)
from medshare_anonymizer.pseudonyms import PseudonymKeys

Status = Literal["ok", "quarantined", "rejected"]
SOP_INSTANCE_UID = keyword_tag("SOPInstanceUID")


@dataclass
class DicomDeidResult:
    status: Status
    reason: str | None
    output: bytes | None
    patient_pseudonym: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


def _parse(data: bytes) -> Part10:
    try:
        return read_part10(data)
    except DicomFormatError as exc:
        raise Refusal("rejected", str(exc)) from None


def _cleaning_boxes(data: bytes, view: DatasetView, options: frozenset[str]) -> tuple[Box, ...]:
    """Regions to blank (empty: none needed); raises Refusal when it cannot be made safe."""
    if view.text("SOPClassUID") in ENCAPSULATED_DOCUMENT_SOP_CLASSES:
        raise Refusal("quarantined", "encapsulated document content cannot be verified")
    if not has_pixels(view):
        return ()
    if "clean-recognizable-visual-features" in options:
        features = visual_features_suspicion(view)
        if features:
            raise Refusal(
                "quarantined",
                f"recognizable visual features suspected ({features}); defacing not implemented",
            )
    suspicion = burned_in_suspicion(view)
    if suspicion is None:
        return ()
    if "clean-pixel-data" not in options:
        raise Refusal(
            "quarantined",
            f"burned-in annotation suspected ({suspicion}) and clean-pixel-data not enabled",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = dcmread(io.BytesIO(data), stop_before_pixels=True)
    plan = cleaning_regions(header)
    if plan is None:
        raise Refusal(
            "quarantined",
            f"burned-in annotation suspected ({suspicion}) and no pixel-cleaning rule matches "
            "(Manufacturer, ManufacturerModelName, Rows x Columns)",
        )
    return plan[1]


def _rewrite(
    source: Part10, view: DatasetView, rewriter: Rewriter, table: ActionTable, cleaning: bool
) -> bytes:
    chunks: Chunks = [b"\x00" * 128, b"DICM", b""]
    inserted = method_elements(source.encoding, table.options, cleaning, has_pixels(view))
    rewriter.dataset(source.elements, chunks, inserted)
    sop_instance = view.text("SOPInstanceUID")
    if table.action_for(SOP_INSTANCE_UID) == "U":
        sop_instance = rewriter.map_uid(sop_instance)
    chunks[2] = file_meta(view.text("SOPClassUID"), sop_instance, source.transfer_syntax)
    if source.deflated:
        return b"".join(chunks[:3]) + deflate(b"".join(chunks[3:]))
    return b"".join(chunks)


def deidentify_dicom(
    data: bytes,
    keys: PseudonymKeys,
    institution: str,
    options: frozenset[str] = frozenset(),
) -> DicomDeidResult:
    """De-identifies one DICOM Part-10 instance; never raises for bad input."""
    table = action_table(options)  # ValueError for unknown options is a caller error
    chosen = sorted(table.options)
    try:
        source = _parse(data)
        view = DatasetView(source)
        check_instance(view)
        boxes = _cleaning_boxes(data, view, table.options)
    except Refusal as refusal:
        return DicomDeidResult(refusal.status, refusal.reason, None, None, options=chosen)
    pseudonym = keys.patient_pseudonym(institution, patient_key(view))
    try:
        needles = collect_needles(source, table)
        shift = None
        if "retain-long-modified-dates" in table.options:
            shift = keys.date_shift_days(pseudonym)
        rewriter = Rewriter(memoryview(source.buffer), source.encoding, table, keys, institution,
                            pseudonym, shift, needles.scrub, view.encodings)  # fmt: skip
        output = _rewrite(source, view, rewriter, table, bool(boxes))
        if boxes:
            output = clean_pixels(output, boxes)
            rewriter.counts["pixels"] += 1
        released = parse_part10(output)
        findings = find_leaks(released, needles)
        metadata = searchable_metadata(DatasetView(released))
    except PixelCleaningError as exc:
        return DicomDeidResult("quarantined", str(exc), None, pseudonym, options=chosen)
    except Exception as exc:  # malformed values surface lazily, on conversion or writing
        reason = f"unprocessable DICOM content ({type(exc).__name__})"
        return DicomDeidResult("rejected", reason, None, None, options=chosen)
    actions = dict(rewriter.counts)
    if findings:
        reason = "verifier found source identifiers in: " + ", ".join(findings[:10])
        return DicomDeidResult("quarantined", reason, None, pseudonym, metadata, actions,
                               chosen, findings)  # fmt: skip
    return DicomDeidResult("ok", None, output, pseudonym, metadata, actions, chosen, [])
