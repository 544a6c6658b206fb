"""Which instances cannot be shown safe from their pixels by reading them.

Burned-in text is looked for in every image (``text``), whatever its modality; what
OCR cannot settle is decided here from the header: encapsulated documents, whose
content is not an image, and kinds where a face may be present or reconstructable.
"""

from __future__ import annotations

from typing import Any, Protocol


class Attributes(Protocol):
    """Anything with a dataset-like ``get`` by keyword (a pydicom Dataset, a view)."""

    def get(self, keyword: str, default: Any = None) -> Any: ...


_SOP_PREFIX = "1.2.840.10008.5.1.4.1.1."

# Documents whose content we cannot inspect at all: always quarantined.
ENCAPSULATED_DOCUMENT_SOP_CLASSES = frozenset(
    {_SOP_PREFIX + "104.1", _SOP_PREFIX + "104.2", _SOP_PREFIX + "104.3", _SOP_PREFIX + "104.4"}
)

# Kinds where faces or other recognizable features may be present or reconstructable.
VISUAL_FEATURE_SOP_CLASSES = frozenset(
    {_SOP_PREFIX + "77.1.4", _SOP_PREFIX + "77.1.4.1", _SOP_PREFIX + "77.1.1.1"}
)
VISUAL_FEATURE_BODY_PARTS = frozenset({"HEAD", "BRAIN", "SKULL", "FACE", "HEADNECK", "NECK"})
VOLUME_MODALITIES = frozenset({"CT", "MR", "PT", "NM"})


def visual_features_suspicion(ds: Attributes) -> str | None:
    """Why recognizable visual features may be present, or None."""
    if str(ds.get("RecognizableVisualFeatures", "")).upper() == "YES":
        return "RecognizableVisualFeatures=YES"
    if str(ds.get("SOPClassUID", "")) in VISUAL_FEATURE_SOP_CLASSES:
        return "photographic SOP class"
    body_part = str(ds.get("BodyPartExamined", "")).upper().replace(" ", "")
    if str(ds.get("Modality", "")).upper() in VOLUME_MODALITIES and (
        body_part in VISUAL_FEATURE_BODY_PARTS
    ):
        return "head volume (BodyPartExamined)"
    return None
