"""Finding readable text in an image's pixels: screen every frame, read the candidates.

The screen (``screening``) runs on every frame and is cheap; the recognizer (``ocr``)
reads only the lines it proposes. A line counts as text when the recognizer reads it
(``Reading.readable``); what it reads is never kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from medshare_anonymizer.pixels.ocr import Reading, read_crops
from medshare_anonymizer.pixels.regions import Box
from medshare_anonymizer.pixels.screening import Line, as_gray8, screen_frame

MAX_CANDIDATES = 96  # lines read per image; a busier image is read on its longest lines
_BATCH = 6  # the recognizer's own batch size


@dataclass(frozen=True)
class TextFinding:
    boxes: tuple[Box, ...]  # lines read as text, in frame pixels
    faint: tuple[Box, ...]  # lines read with less certainty: blanked too when cleaning
    candidates: int  # lines the screen proposed (after merging across frames)
    frames: int
    decode_seconds: float
    screen_seconds: float
    ocr_seconds: float


def _overlaps(a: Box, b: Box) -> bool:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    if width <= 0 or height <= 0:
        return False
    smaller = min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0))
    return width * height >= 0.6 * smaller


def blanking_boxes(lines: tuple[Box, ...], frame_width: int) -> tuple[Box, ...]:
    """Boxes to blank for ``lines``: each widened by its height on both sides (a word the
    screen left out of the chain), and lines on one baseline joined across gaps of up to
    eight heights (the words between two read parts of a line are the same line)."""
    if not lines:
        return ()
    widened = sorted(
        (Box(max(0, b.x0 - (b.y1 - b.y0)), b.y0, min(frame_width, b.x1 + (b.y1 - b.y0)), b.y1)
         for b in lines),
        key=lambda b: (b.y0, b.x0),
    )  # fmt: skip
    joined: list[Box] = []
    for box in widened:
        height = box.y1 - box.y0
        for i, other in enumerate(joined):
            overlap = min(box.y1, other.y1) - max(box.y0, other.y0)
            gap = max(box.x0 - other.x1, other.x0 - box.x1)
            if overlap >= 0.5 * min(height, other.y1 - other.y0) and gap <= 8 * height:
                joined[i] = Box(min(box.x0, other.x0), min(box.y0, other.y0),
                                max(box.x1, other.x1), max(box.y1, other.y1))  # fmt: skip
                break
        else:
            joined.append(box)
    return tuple(joined)


def _frame_image(frame: np.ndarray) -> np.ndarray:
    """(rows, columns) or (rows, columns, samples): one sample is a plain grey frame."""
    return frame[..., 0] if frame.ndim == 3 and frame.shape[-1] == 1 else frame


def find_text(frames: Iterable[np.ndarray], *, every_line: bool = True) -> TextFinding:
    """Readable lines in ``frames``, each (rows, columns) or (rows, columns, samples).

    ``every_line=False`` stops at the first batch with a readable line: enough to
    withhold an image, at a fraction of the reading on a captioned ultrasound.
    """
    started = time.perf_counter()
    candidates: list[tuple[Line, np.ndarray]] = []
    count, decoding = 0, 0.0
    source = iter(frames)
    while True:
        before = time.perf_counter()
        frame = next(source, None)
        decoding += time.perf_counter() - before
        if frame is None:
            break
        count += 1
        image = _frame_image(frame)
        for line in screen_frame(image):
            # Static overlays repeat on every frame of a clip: read each place once.
            if not any(_overlaps(line.box, seen.box) for seen, _ in candidates):
                b = line.box
                candidates.append((line, as_gray8(image[b.y0 : b.y1, b.x0 : b.x1])))
    screened = time.perf_counter()
    chosen = sorted(candidates, key=lambda c: -c[0].glyphs)[:MAX_CANDIDATES]
    read: list[tuple[Line, Reading]] = []
    step = len(chosen) if every_line else _BATCH
    for start in range(0, len(chosen), max(step, 1)):
        batch = chosen[start : start + step]
        readings = read_crops([crop for _, crop in batch])
        read += zip((line for line, _ in batch), readings, strict=True)
        if not every_line and any(r.readable for r in readings):
            break
    boxes = tuple(line.box for line, r in read if r.readable)
    faint = tuple(line.box for line, r in read if r.faint and not r.readable)
    return TextFinding(boxes, faint, len(candidates), count, decoding,
                       screened - started - decoding, time.perf_counter() - screened)  # fmt: skip
