"""Real images for the burned-in text detector, from installed packages (no downloads).

- pydicom-data (and pydicom's own test files): about 120 decodable images. Many are one
  picture saved in several transfer syntaxes, so images are grouped into *families* by
  their thumbnails, and the train/held-out split is by family: no picture is on both sides.
  Some already carry real burned-in text (ultrasound headers, a test pattern); they were
  labelled by looking at them (NATURAL_TEXT).
- deid-data: real ultrasounds with burned-in annotations (the held-out real positives) and
  a few clean pictures (held-out negatives). Never used for training.
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from medshare_inference.models.images import ImageDecodeError, dataset_frames

# Files whose pixels carry real burned-in text (names, dates, parameters), by inspection.
NATURAL_TEXT = frozenset(
    {
        "US1_J2KI.dcm",
        "US1_J2KR.dcm",
        "US1_UNCI.dcm",
        "US1_UNCR.dcm",
        "examples_rgb_color.dcm",
        "examples_jpeg2k.dcm",
        "OBXXXX1A.dcm",
        "OBXXXX1A_2frame.dcm",
        "OBXXXX1A_expb.dcm",
        "OBXXXX1A_expb_2frame.dcm",
        "OBXXXX1A_rle.dcm",
        "OBXXXX1A_rle_2frame.dcm",
        "examples_palette.dcm",
        "examples_ybr_color.dcm",
        "color3d_jpeg_baseline.dcm",
        "JPGLosslessP14SV1_1s_1f_8b.dcm",
        "gdcm-US-ALOKA-16.dcm",
        "gdcm-US-ALOKA-16_big.dcm",
        "vlut_04.dcm",
        "mlut_18.dcm",
        "GDCMJ2K_TextGBR.dcm",
    }
)
# Natural-text families kept out of training: real text the detector is tested on.
HELD_OUT_NATURAL = frozenset(
    {"examples_ybr_color.dcm", "color3d_jpeg_baseline.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm"}
    | {"GDCMJ2K_TextGBR.dcm"}
)
# A lone laterality letter ("R") is neither clean nor the text we look for: left out.
AMBIGUOUS = frozenset({"RG3_J2KI.dcm", "RG3_J2KR.dcm", "RG3_UNCI.dcm", "RG3_UNCR.dcm"})
# deid-data: the cat radiograph carries an "R" marker, so it is ambiguous too.
DEID_NEGATIVES = {"dicom-cookies": None, "humans": None}
DEID_POSITIVES = "ultrasounds"

MIN_SIDE = 48  # smaller "images" are codec test vectors (3x3, 10x10), not pictures
MAX_FRAMES = 4  # per multi-frame file: enough variety, bounded memory
WORK_MAX_SIDE = 768  # frames are stored at most this large for rendering text onto
HELD_OUT_PERCENT = 30  # share of clean families (by hash) kept for evaluation


@dataclass
class SourceImage:
    name: str
    family: str
    natural_text: bool
    frames: list[np.ndarray] = field(repr=False)  # grey, float32, 0..1, at most WORK_MAX_SIDE
    path: Path | None = None


def pydicom_files() -> list[Path]:
    """pydicom's own test files and pydicom-data's, globbed (get_testdata_files downloads)."""
    import pydicom.data
    from pydicom.data.data_manager import external_data_sources

    roots = [Path(pydicom.data.__file__).parent / "test_files"]
    roots += [Path(source.data_path) for source in external_data_sources().values()]
    found = {path for root in roots for path in root.rglob("*.dcm") if path.is_file()}
    return sorted(found, key=lambda path: path.name)


def work_frame(grey: np.ndarray) -> np.ndarray:
    """Window to 0..1 (same percentiles as serving) and cap the size for fast rendering."""
    low, high = np.percentile(
        grey[:: max(1, grey.shape[0] // 256), :: max(1, grey.shape[1] // 256)], [0.5, 99.5]
    )
    scaled = np.clip((grey - low) / max(float(high - low), 1e-6), 0.0, 1.0).astype(np.float32)
    height, width = scaled.shape
    factor = WORK_MAX_SIDE / max(height, width)
    if factor < 1:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        image = Image.fromarray(scaled, mode="F").resize(size, Image.Resampling.BOX)
        scaled = np.asarray(image, dtype=np.float32)
    return scaled


def _read_frames(data: bytes | Path) -> list[np.ndarray]:
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(io.BytesIO(data) if isinstance(data, bytes) else data)
        return [work_frame(frame) for frame in dataset_frames(dataset, MAX_FRAMES)]


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    small = np.asarray(Image.fromarray(frame, mode="F").resize((16, 16), Image.Resampling.BOX))
    centred = small - small.mean()
    return (centred / (np.linalg.norm(centred) + 1e-9)).reshape(-1)


def _families(images: list[tuple[str, np.ndarray]]) -> dict[str, str]:
    """file name -> family (its alphabetically first member): same aspect, same thumbnail."""
    parent = {name: name for name, _ in images}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    thumbs = [(name, _thumbnail(frame), frame.shape[0] / frame.shape[1]) for name, frame in images]
    for i, (first, thumb_a, aspect_a) in enumerate(thumbs):
        for second, thumb_b, aspect_b in thumbs[i + 1 :]:
            if abs(aspect_a - aspect_b) < 0.05 and float(thumb_a @ thumb_b) > 0.9:
                a, b = sorted((root(first), root(second)))
                parent[b] = a
    return {name: root(name) for name, _ in images}


def load_pydicom_sources() -> list[SourceImage]:
    loaded: list[tuple[str, list[np.ndarray]]] = []
    paths = {path.name: path for path in pydicom_files()}
    for path in paths.values():
        if path.name in AMBIGUOUS:
            continue
        try:
            frames = _read_frames(path)
        except (ImageDecodeError, Exception):  # broken test vectors are part of pydicom-data
            continue
        if frames and min(frames[0].shape) >= MIN_SIDE:
            loaded.append((path.name, frames))
    family = _families([(name, frames[0]) for name, frames in loaded])
    return [
        SourceImage(name, family[name], name in NATURAL_TEXT, frames, paths[name])
        for name, frames in loaded
    ]


def is_held_out(source: SourceImage) -> bool:
    """Held-out families: chosen by hash of the family name, so the split is stable."""
    if source.natural_text:
        return source.name in HELD_OUT_NATURAL or source.family in HELD_OUT_NATURAL
    digest = hashlib.sha256(source.family.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def one_per_family(sources: list[SourceImage]) -> list[SourceImage]:
    """The first file of each family: variants in other syntaxes add nothing but weight."""
    seen: dict[str, SourceImage] = {}
    for source in sources:
        seen.setdefault(source.family, source)
    return list(seen.values())


def _deid_files(dataset: str) -> Iterator[tuple[str, bytes]]:
    from deid_data.data import get_dataset

    folder = Path(get_dataset(dataset))
    for path in sorted(folder.iterdir()):
        if path.suffix == ".dcm":
            yield path.name, path.read_bytes()
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.endswith(".dcm"):
                        yield member, archive.read(member)


@dataclass
class RealImage:
    """One real DICOM file as bytes: the evaluation feeds it through the serving path."""

    name: str
    data: bytes
    has_text: bool


def held_out_real_images(sources: list[SourceImage]) -> list[RealImage]:
    """One file per held-out pydicom-data family, clean or with real text, as bytes."""
    chosen = one_per_family([s for s in sources if is_held_out(s)])
    return [RealImage(s.name, s.path.read_bytes(), s.natural_text) for s in chosen if s.path]


def deid_real_images() -> list[RealImage]:
    """deid-data's ultrasounds (burned-in text) and clean pictures; the cat is ambiguous."""
    images = [RealImage(n, d, True) for n, d in _deid_files(DEID_POSITIVES)]
    for dataset in DEID_NEGATIVES:
        images += [RealImage(n, d, False) for n, d in _deid_files(dataset)]
    return images
