"""`medshare bench pixels`: text burned into real images of every modality, released or not.

Every decodable image of the corpus (pydicom's test files, pydicom-data, deid-data's
ultrasounds) goes through the anonymizer twice as it is and twice with a patient's
name and ID planted in the header and burned into the pixels (random font, size and
corner, the frame's brightest value), without and with `clean-pixel-data`. For each
release: planted identifiers in its bytes, planted words readable in its first frame
by the anonymizer's own OCR engine (PP-OCR detection and recognition, whole frame) and
by Debian's tesseract. Costs per image: decoding, the screen (every frame), OCR (only
where the screen fired). The images are real; the burned text is drawn here.
"""

from __future__ import annotations

import io
import random
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medshare_bench.burn import FONT_DIR, burn, gray8, tesseract_text
from medshare_bench.deid import default_corpus
from medshare_bench.plot import bar_plot
from medshare_bench.results import percentile, write_results

FIRST = ("KOWALSKI", "OKAFOR", "LINDQVIST", "MARTINEZ", "NAKAMURA", "BRENNAN", "DUBOIS")
GIVEN = ("ANNA", "CHIDI", "ERIK", "LUCIA", "HIRO", "MAEVE", "JULES")
OPTIONS = {"plain": frozenset(), "clean-pixel-data": frozenset({"clean-pixel-data"})}


@dataclass
class Outcome:
    released: int = 0
    quarantined: int = 0
    rejected: int = 0
    header_leaks: int = 0
    ocr_readable: int = 0  # releases with a planted word read by PP-OCR
    tesseract_readable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)  # file: what was found in its release

    def as_dict(self, total: int) -> dict[str, Any]:
        return {"files": total, "released": self.released, "quarantined": self.quarantined,
                "rejected": self.rejected, "share_released": round(self.released / total, 3)
                if total else 0.0, "planted_ids_in_released_bytes": self.header_leaks,
                "planted_words_readable_by_own_ocr": self.ocr_readable,
                "planted_words_readable_by_tesseract": self.tesseract_readable,
                "reasons": dict(self.reasons.most_common(8)),
                "misses": self.misses}  # fmt: skip


def _images(paths: list[Path]) -> list[tuple[Path, bytes]]:
    """Files whose pixels decode and are large enough to carry a line of text."""
    from pydicom import dcmread

    kept = []
    for path in paths:
        data = path.read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(io.BytesIO(data))
                if min(int(ds.get("Rows", 0)), int(ds.get("Columns", 0))) < 128:
                    continue
                if int(ds.get("BitsAllocated", 0)) == 1:  # segmentation masks: no text
                    continue
                _ = ds.pixel_array
        except Exception:  # undecodable or not an image: not part of this benchmark
            continue
        kept.append((path, data))
    return kept


def _plant(data: bytes, rng: random.Random) -> tuple[bytes, tuple[str, ...]] | None:
    from pydicom import dcmread
    from pydicom.filewriter import dcmwrite

    ds = dcmread(io.BytesIO(data))
    rows, columns = int(ds.Rows), int(ds.Columns)
    family, given = rng.choice(FIRST), rng.choice(GIVEN)
    patient_id = str(rng.randrange(10_000_000, 99_999_999))
    text = f"{family}^{given} ID {patient_id}"
    size = max(10, round(min(rows, columns) * rng.uniform(0.025, 0.045)))
    width = round(size * 0.62 * len(text)) + 8
    if width >= columns:
        return None
    x = rng.choice([4, columns - width])
    y = rng.choice([4, rows - size - 12])
    fonts = sorted(p.name for p in FONT_DIR.glob("*.ttf")) or ["DejaVuSansMono.ttf"]
    planted = burn(data, text, size, (x, y), rng.choice(fonts))
    ds = dcmread(io.BytesIO(planted.data))
    ds.PatientName, ds.PatientID = f"{family}^{given}", patient_id
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)  # big endian sources become little endian
    return out.getvalue(), (family, given, patient_id)


def _read_words(frame: np.ndarray) -> str:
    from rapidocr_onnxruntime import RapidOCR

    global _FULL_OCR
    if _FULL_OCR is None:
        _FULL_OCR = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    result, _ = _FULL_OCR(np.stack([gray8(frame)] * 3, axis=-1))
    return " ".join(text for _, text, _ in (result or [])).upper()


_FULL_OCR: Any = None


def _without_pixels(output: bytes) -> bytes:
    """The file's bytes up to its pixel data (the header, where identifiers would be)."""
    from pydicom import dcmread
    from pydicom.filewriter import dcmwrite

    ds = dcmread(io.BytesIO(output))
    for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if keyword in ds:
            del ds[keyword]
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=False)
    return buffer.getvalue()


def _judge(outcome: Outcome, output: bytes, words: tuple[str, ...], name: str) -> None:
    from pydicom import dcmread

    header = _without_pixels(output)  # four letters recur by chance in pixel bytes
    if any(word.encode() in header for word in words):
        outcome.header_leaks += 1
        where = [w for w in words if w.encode() in header]
        outcome.misses.append(f"{name}: planted {len(where)} word(s) in the bytes")
    from medshare_anonymizer.pixels.cleaning import iter_frames

    frame = next(iter(iter_frames(dcmread(io.BytesIO(output)))))
    if any(word in _read_words(frame) for word in words):
        outcome.ocr_readable += 1
        outcome.misses.append(f"{name}: PP-OCR reads a planted word")
    if any(word in tesseract_text(frame) for word in words):
        outcome.tesseract_readable += 1
        outcome.misses.append(f"{name}: tesseract reads a planted word")


def _costs(screenings: list[dict[str, float]]) -> dict[str, Any]:
    screened = [s for s in screenings if s]
    fired = [s for s in screened if s["candidates"]]

    def ms(values: list[float]) -> dict[str, float]:
        return {"median": round(1000 * percentile(values, 0.5), 2),
                "p95": round(1000 * percentile(values, 0.95), 2)} if values else {}  # fmt: skip

    return {
        "images": len(screened),
        "frames": int(sum(s["frames"] for s in screened)),
        "decode_ms_per_image": ms([s["decode_seconds"] for s in screened]),
        "screen_ms_per_image": ms([s["screen_seconds"] for s in screened]),
        "screen_ms_per_frame": ms([s["screen_seconds"] / s["frames"] for s in screened]),
        "images_where_screen_fired": len(fired),
        "ocr_ms_per_image_where_fired": ms([s["ocr_seconds"] for s in fired]),
    }


@click.command("pixels")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="results JSON (a PNG plot is written beside it)")  # fmt: skip
@click.option("--limit", type=int, default=None, help="only the first N images")
@click.option("--seed", type=int, default=12, show_default=True)
def bench_pixels(out: Path, limit: int | None, seed: int) -> None:
    """Burned-in text on real images: share released, words readable after, costs."""
    from deid_data.data import get_dataset

    from medshare_anonymizer.dicom.deidentifier import deidentify_dicom
    from medshare_anonymizer.pseudonyms import PseudonymKeys

    console = Console()
    paths = default_corpus() + sorted(Path(str(get_dataset("ultrasounds"))).glob("*.dcm"))
    images = _images(paths)[:limit]
    rng = random.Random(seed)
    planted = [(path, _plant(data, rng)) for path, data in images]
    keys = PseudonymKeys(b"bench-pixels-key-0123456789abcdef")
    results: dict[str, dict[str, Outcome]] = {"as-is": {}, "planted": {}}
    screenings: list[dict[str, float]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("de-identifying", total=len(images) * 2 * len(OPTIONS))
        for option_name, options in OPTIONS.items():
            as_is, burned = Outcome(), Outcome()
            results["as-is"][option_name], results["planted"][option_name] = as_is, burned
            for (path, data), (_, plant) in zip(images, planted, strict=True):
                for outcome, source in ((as_is, data), (burned, plant[0] if plant else None)):
                    progress.advance(task)
                    if source is None:
                        continue
                    result = deidentify_dicom(source, keys, "bench", options)
                    if outcome is as_is and option_name == "plain":
                        screenings.append(result.screening)
                    _count(outcome, result)
                    if outcome is burned and result.status == "ok" and plant is not None:
                        assert result.output is not None
                        _judge(outcome, result.output, plant[1], path.name)
    counts = {"as-is": len(images), "planted": sum(1 for _, p in planted if p)}
    summary = {
        "command": f"medshare bench pixels --out {out}" + (f" --limit {limit}" if limit else ""),
        "images": len(images),
        "modalities": dict(Counter(_modality(data) for _, data in images).most_common()),
        "outcomes": {
            kind: {name: o.as_dict(counts[kind]) for name, o in by.items()}
            for kind, by in results.items()
        },
        "costs": _costs(screenings),
    }
    write_results(out, "pixels", summary)
    _plot(out.with_suffix(".png"), summary)
    console.print(_table(summary))
    console.print(f"results: {out}")


def _count(outcome: Outcome, result: Any) -> None:
    if result.status == "ok":
        outcome.released += 1
    elif result.status == "quarantined":
        outcome.quarantined += 1
        outcome.reasons[(result.reason or "").split("(")[0].strip()] += 1
    else:
        outcome.rejected += 1


def _modality(data: bytes) -> str:
    from pydicom import dcmread

    return str(dcmread(io.BytesIO(data), stop_before_pixels=True).get("Modality", "none"))


def _table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"{summary['images']} real images")
    for column in ("set", "options", "released", "share", "ids in bytes", "PP-OCR reads",
                   "tesseract reads"):  # fmt: skip
        table.add_column(column)
    for kind, by in summary["outcomes"].items():
        for name, o in by.items():
            table.add_row(kind, name, f"{o['released']}/{o['files']}", f"{o['share_released']}",
                          str(o["planted_ids_in_released_bytes"]),
                          str(o["planted_words_readable_by_own_ocr"]),
                          str(o["planted_words_readable_by_tesseract"]))  # fmt: skip
    return table


def _plot(path: Path, summary: dict[str, Any]) -> None:
    labels = [f"{kind}\n{name}" for kind, by in summary["outcomes"].items() for name in by]
    shares = [o["share_released"] for by in summary["outcomes"].values() for o in by.values()]
    bar_plot(path, "Share of real images released (burned-in text planted or not)", labels,
             {"released": shares}, "share released")  # fmt: skip
