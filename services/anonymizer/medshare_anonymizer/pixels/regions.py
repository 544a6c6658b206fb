"""Which pixel regions to blank in an instance suspected of burned-in text.

Regions come from ``REGION_RULES`` (manufacturer/model/rows x columns), else, for
ultrasound, from the band above the first Sequence of Ultrasound Regions (vendors
print the demographics header there). With no rule the instance is quarantined:
blanking a guessed region would give a false sense of safety.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset


@dataclass(frozen=True)
class Box:
    """Half-open pixel rectangle: columns x0..x1-1, rows y0..y1-1."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class RegionRule:
    name: str
    manufacturer: str  # case-insensitive prefix; "" matches any
    model: str  # case-insensitive prefix; "" matches any
    rows: int
    columns: int
    boxes: tuple[Box, ...]

    def matches(self, manufacturer: str, model: str, rows: int, columns: int) -> bool:
        return (
            rows == self.rows
            and columns == self.columns
            and manufacturer.lower().startswith(self.manufacturer.lower())
            and model.lower().startswith(self.model.lower())
        )


def _top_band(height: int, width: int) -> tuple[Box, ...]:
    return (Box(0, 0, width, height),)


# Checked against the deid-data ultrasound samples: the demographics header (name, ID,
# birth date, institution, exam date) sits in a band at the top of the frame.
REGION_RULES: tuple[RegionRule, ...] = (
    RegionRule("philips-epiq-1024x768", "Philips", "EPIQ", 768, 1024, _top_band(38, 1024)),
    RegionRule("philips-affiniti-800x600", "Philips", "Affiniti", 600, 800, _top_band(30, 800)),
    RegionRule("philips-cx50-800x600", "Philips", "CX50", 600, 800, _top_band(60, 800)),
    RegionRule("siemens-s2000-1024x768", "SIEMENS", "S2000", 768, 1024, _top_band(60, 1024)),
)

_MIN_BAND_ROWS = 16


def _ultrasound_region_band(ds: Dataset, rows: int, columns: int) -> tuple[Box, ...] | None:
    regions = ds.get("SequenceOfUltrasoundRegions")
    if not regions:
        return None
    tops = []
    for region in regions:
        x1 = int(region.get("RegionLocationMaxX1", columns))
        y1 = int(region.get("RegionLocationMaxY1", rows))
        # Regions outside the frame mean a different coordinate system: do not trust.
        if x1 >= columns or y1 >= rows:
            return None
        tops.append(int(region.get("RegionLocationMinY0", 0)))
    band = min(tops)
    if band < _MIN_BAND_ROWS:
        return None
    return _top_band(band, columns)


def cleaning_regions(ds: Dataset) -> tuple[str, tuple[Box, ...]] | None:
    """(rule name, boxes) to blank for this instance, or None when no rule applies."""
    rows, columns = int(ds.get("Rows", 0)), int(ds.get("Columns", 0))
    manufacturer = str(ds.get("Manufacturer", ""))
    model = str(ds.get("ManufacturerModelName", ""))
    for rule in REGION_RULES:
        if rule.matches(manufacturer, model, rows, columns):
            return rule.name, rule.boxes
    if str(ds.get("Modality", "")).upper() == "US":
        band = _ultrasound_region_band(ds, rows, columns)
        if band is not None:
            return "ultrasound-regions-top-band", band
    return None
