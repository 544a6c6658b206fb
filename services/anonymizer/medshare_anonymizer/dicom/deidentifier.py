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

from medshare_anonymizer.dicom.actions import Chunks, Rewriter
from medshare_anonymizer.dicom.checks import (
    Refusal,
    check_instance,
    has_pixels,
    kept_empty,
    patient_key,
)
from medshare_anonymizer.dicom.deid_method import file_meta, method_elements
from medshare_anonymizer.dicom.metadata import searchable_metadata
from medshare_anonymizer.dicom.part10 import (
    DicomFormatError,
    Part10,
    deflate,
    parse_part10,
    read_part10,
)
from medshare_anonymizer.dicom.profile import ActionTable, action_table, keyword_tag
from medshare_anonymizer.dicom.uids import UidMap
from medshare_anonymizer.dicom.view import DatasetView
from medshare_anonymizer.pixels.cleaning import PixelCleaningError, clean_pixels, iter_frames
from medshare_anonymizer.pixels.regions import Box, cleaning_regions
from medshare_anonymizer.pixels.suspicion import (
    ENCAPSULATED_DOCUMENT_SOP_CLASSES,
    visual_features_suspicion,
)
from medshare_anonymizer.pixels.text import TextFinding, blanking_boxes, find_text
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_anonymizer.verify.dicom import collect_needles, find_leaks

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
    # A quarantined instance as it would be released (header de-identified, pixels as
    # they came) and where text is expected, as fractions of the frame: for a steward.
    candidate: bytes | None = None
    regions: list[dict[str, Any]] = field(default_factory=list)
    # What finding text in the pixels cost: frames, candidate lines, lines read, seconds.
    screening: dict[str, float] = field(default_factory=dict)


class SuspectPixels(Refusal):
    """Quarantined for its pixels alone: the header can still be de-identified for review."""

    def __init__(self, reason: str, regions: list[dict[str, Any]]) -> None:
        super().__init__("quarantined", reason)
        self.regions = regions


def _fractions(header: Any, boxes: tuple[Box, ...], source: str) -> list[dict[str, Any]]:
    rows, columns = int(header.get("Rows", 0) or 0), int(header.get("Columns", 0) or 0)
    if not rows or not columns:
        return []
    return [
        {"x0": b.x0 / columns, "y0": b.y0 / rows, "x1": b.x1 / columns, "y1": b.y1 / rows,
         "source": source}
        for b in boxes
    ]  # fmt: skip


def _parse(data: bytes) -> Part10:
    try:
        return read_part10(data)
    except DicomFormatError as exc:
        raise Refusal("rejected", str(exc)) from None


def _dataset(data: bytes) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data))


def _find_text(ds: Any, every_line: bool) -> TextFinding:
    try:
        return find_text(iter_frames(ds), every_line=every_line)
    except PixelCleaningError as exc:
        # Undecodable pixels cannot be screened, so they cannot be shown to be text-free.
        raise SuspectPixels(f"{exc}; text in pixels cannot be ruled out", []) from None


def _cleaning_boxes(
    data: bytes, view: DatasetView, options: frozenset[str], screening: dict[str, float]
) -> tuple[Box, ...]:
    """Regions to blank (empty: none needed); raises Refusal when it cannot be made safe.

    Every image is screened for text, whatever its modality; the modality no longer
    decides. A device's BurnedInAnnotation=YES is believed even when nothing is read.
    Region rules (vendor layouts) are a fast path: blanked whenever cleaning is on.
    """
    if view.text("SOPClassUID") in ENCAPSULATED_DOCUMENT_SOP_CLASSES:
        raise Refusal("quarantined", "encapsulated document content cannot be verified")
    if not has_pixels(view):
        return ()
    if "clean-recognizable-visual-features" in options:
        features = visual_features_suspicion(view)
        if features:
            raise SuspectPixels(
                f"recognizable visual features suspected ({features}); defacing not implemented",
                [],
            )
    ds = _dataset(data)
    cleaning = "clean-pixel-data" in options
    finding = _find_text(ds, every_line=cleaning)  # withholding needs one readable line
    screening.update(_screening_figures(finding))
    declared = view.text("BurnedInAnnotation").upper() == "YES"
    plan = cleaning_regions(ds)
    rule_boxes = plan[1] if plan else ()
    if not finding.boxes and not declared:
        # A vendor's known text band is blanked when cleaning is on, read or not.
        return rule_boxes if cleaning else ()
    regions = _fractions(ds, finding.boxes, "ocr") + _fractions(ds, rule_boxes, "rule")
    why = "text read in pixels" if finding.boxes else "BurnedInAnnotation=YES"
    if not cleaning:
        raise SuspectPixels(f"{why} and clean-pixel-data not enabled", regions)
    columns = int(ds.get("Columns", 0) or 0)
    boxes = blanking_boxes(finding.boxes + finding.faint, columns) + rule_boxes
    if not boxes:
        raise SuspectPixels(f"{why} but no text was found to blank and no rule matches", [])
    return boxes


def _screening_figures(finding: TextFinding) -> dict[str, float]:
    return {"frames": finding.frames, "candidates": finding.candidates,
            "lines": len(finding.boxes), "decode_seconds": finding.decode_seconds,
            "screen_seconds": finding.screen_seconds,
            "ocr_seconds": finding.ocr_seconds}  # fmt: skip


def _cleaned(output: bytes, boxes: tuple[Box, ...]) -> tuple[bytes, tuple[Box, ...]]:
    """The output with ``boxes`` blanked, then read again: (cleaned, lines still readable).

    Blanking can uncover a line the screen merged with a neighbour, so one more round
    blanks what the second reading finds before giving up.
    """
    cleaned = clean_pixels(output, boxes)
    for _ in range(2):
        dataset = _dataset(cleaned)
        finding = find_text(iter_frames(dataset))
        if not finding.boxes:
            return cleaned, ()
        found = finding.boxes + finding.faint
        boxes = boxes + blanking_boxes(found, int(dataset.get("Columns", 0) or 0))
        cleaned = clean_pixels(output, boxes)
    return cleaned, find_text(iter_frames(_dataset(cleaned))).boxes


def _rewrite(
    source: Part10, view: DatasetView, rewriter: Rewriter, table: ActionTable, cleaning: bool
) -> bytes:
    chunks: Chunks = [b"\x00" * 128, b"DICM", b""]
    inserted = method_elements(source.encoding, table.options, cleaning, has_pixels(view))
    rewriter.dataset(source.elements, chunks, inserted)
    sop_instance = view.text("SOPInstanceUID")
    if table.action_for(SOP_INSTANCE_UID) == "U":
        sop_instance = rewriter.uids.replace(sop_instance)
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
    screening: dict[str, float] = {}
    result = _deidentify(data, keys, institution, table, screening)
    result.screening = screening
    return result


def _deidentify(
    data: bytes,
    keys: PseudonymKeys,
    institution: str,
    table: ActionTable,
    screening: dict[str, float],
) -> DicomDeidResult:
    chosen = sorted(table.options)
    suspect: SuspectPixels | None = None
    try:
        source = _parse(data)
        view = DatasetView(source)
        check_instance(view)
        try:
            boxes = _cleaning_boxes(data, view, table.options, screening)
        except SuspectPixels as refusal:
            # Still de-identify the header: the steward reviews that candidate, not the raw.
            suspect, boxes = refusal, ()
    except Refusal as refusal:
        return DicomDeidResult(refusal.status, refusal.reason, None, None, options=chosen)
    pseudonym = keys.patient_pseudonym(institution, patient_key(view))
    try:
        shift = None
        if "retain-long-modified-dates" in table.options:
            shift = keys.date_shift_days(pseudonym)
        needles = collect_needles(source, table, shift)
        rewriter = Rewriter(memoryview(source.buffer), source.encoding, table, keys, institution,
                            pseudonym, shift, needles.scrub, view.encodings,
                            UidMap(keys), kept_empty=kept_empty(view))  # fmt: skip
        output = _rewrite(source, view, rewriter, table, bool(boxes))
        if boxes:
            output, residual = _cleaned(output, boxes)
            rewriter.counts["pixels"] += 1
            if residual:
                suspect = SuspectPixels(
                    f"text still readable after cleaning ({len(residual)} lines)",
                    _fractions(_dataset(output), residual, "ocr"),
                )
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
                               chosen, findings, candidate=output)  # fmt: skip
    if suspect is not None:
        return DicomDeidResult("quarantined", suspect.reason, None, pseudonym, metadata, actions,
                               chosen, [], candidate=output, regions=suspect.regions)  # fmt: skip
    return DicomDeidResult("ok", None, output, pseudonym, metadata, actions, chosen, [])
