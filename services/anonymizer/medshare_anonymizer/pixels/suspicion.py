"""Which instances may carry identifying pixels: burned-in text or recognizable features.

An instance is suspect when BurnedInAnnotation is YES, or its modality, SOP class or
image type is one that routinely carries burned-in demographics (``SUSPECT_MODALITIES``,
``SUSPECT_SOP_CLASSES``, ``SUSPECT_IMAGE_TYPES``: ultrasound, secondary capture and
screen saves, photography, endoscopy, microscopy slide labels, scanned documents).
For those kinds a device's "NO" is not trusted: such tags are often defaulted by the
modality, not checked. Which regions to blank is `regions`' business.
"""

from __future__ import annotations

from typing import Any, Protocol


class Attributes(Protocol):
    """Anything with a dataset-like ``get`` by keyword (a pydicom Dataset, a view)."""

    def get(self, keyword: str, default: Any = None) -> Any: ...


# Modality -> why its pixels are suspect.
SUSPECT_MODALITIES: dict[str, str] = {
    "US": "ultrasound (demographics header burned into the frame)",
    "IVUS": "intravascular ultrasound",
    "XC": "external-camera photography",
    "ES": "endoscopy video and stills",
    "OP": "ophthalmic photography",
    "GM": "general microscopy",
    "SM": "slide microscopy (label and overview images)",
    "DOC": "scanned document",
    "OT": "other (screen captures)",
    "SC": "secondary capture",
}
# ImageType values of screen captures, dose reports and slide labels.
SUSPECT_IMAGE_TYPES = frozenset({"SCREEN SAVE", "DOSE_INFO", "DOSE REPORT", "LABEL", "OVERVIEW"})

_SOP_PREFIX = "1.2.840.10008.5.1.4.1.1."
SUSPECT_SOP_CLASSES: dict[str, str] = {
    _SOP_PREFIX + "7": "Secondary Capture Image",
    _SOP_PREFIX + "7.1": "Multi-frame Single Bit Secondary Capture",
    _SOP_PREFIX + "7.2": "Multi-frame Grayscale Byte Secondary Capture",
    _SOP_PREFIX + "7.3": "Multi-frame Grayscale Word Secondary Capture",
    _SOP_PREFIX + "7.4": "Multi-frame True Color Secondary Capture",
    _SOP_PREFIX + "6.1": "Ultrasound Image",
    _SOP_PREFIX + "6": "Ultrasound Image (Retired)",
    _SOP_PREFIX + "3.1": "Ultrasound Multi-frame Image",
    _SOP_PREFIX + "3": "Ultrasound Multi-frame Image (Retired)",
    _SOP_PREFIX + "6.2": "Enhanced US Volume",
    _SOP_PREFIX + "77.1.1": "VL Endoscopic Image",
    _SOP_PREFIX + "77.1.1.1": "Video Endoscopic Image",
    _SOP_PREFIX + "77.1.2": "VL Microscopic Image",
    _SOP_PREFIX + "77.1.2.1": "Video Microscopic Image",
    _SOP_PREFIX + "77.1.4": "VL Photographic Image",
    _SOP_PREFIX + "77.1.4.1": "Video Photographic Image",
    _SOP_PREFIX + "77.1.3": "VL Slide-Coordinates Microscopic Image",
    _SOP_PREFIX + "77.1.5.1": "Ophthalmic Photography 8 Bit Image",
    _SOP_PREFIX + "77.1.5.2": "Ophthalmic Photography 16 Bit Image",
    _SOP_PREFIX + "77.1.5.5": "Wide Field Ophthalmic Photography Stereographic Projection",
    _SOP_PREFIX + "77.1.5.6": "Wide Field Ophthalmic Photography 3D Coordinates",
    _SOP_PREFIX + "77.1.6": "VL Whole Slide Microscopy Image",
    _SOP_PREFIX + "77.1.7": "Dermoscopic Photography Image",
}

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


def _image_types(ds: Attributes) -> set[str]:
    value = ds.get("ImageType", "") or ""
    # A view gives the raw backslash-joined text, pydicom a list of values.
    values = value.split("\\") if isinstance(value, str) else list(value)
    return {str(v).strip().upper() for v in values}


def burned_in_suspicion(ds: Attributes) -> str | None:
    """Why the instance may carry burned-in text (attribute names only), or None."""
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        return "BurnedInAnnotation=YES"
    modality = str(ds.get("Modality", "")).upper()
    if modality in SUSPECT_MODALITIES:
        return f"Modality={modality}"
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in SUSPECT_SOP_CLASSES:
        return f"SOPClassUID={SUSPECT_SOP_CLASSES[sop_class]}"
    image_type = sorted(_image_types(ds) & SUSPECT_IMAGE_TYPES)
    if image_type:
        return f"ImageType={image_type[0]}"
    return None


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
