"""Reading candidate text lines: PP-OCR recognition, offline, from the rapidocr wheel.

Only the recognition model runs, on the line crops the screen proposed (``screening``),
so the cost follows the text, not the image. The engine loads once per process with
one ONNX Runtime thread: the services scale by processes, not threads. Whatever is
read is PHI: callers keep counts and boxes, never the text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# A line is readable when the recognizer is this sure of it and it holds at least
# this many letters or digits (a lone orientation mark "L" or "R" is not identifying).
# A fainter reading is still blanked when cleaning: a box of blanked background costs
# little, a name another engine reads costs everything.
MIN_SCORE = 0.5
MIN_ALNUM = 3
FAINT_SCORE = 0.25
_CROP_HEIGHT = 48  # the recognizer's input height

_lock = threading.Lock()
_engine: Any = None


@dataclass(frozen=True)
class Reading:
    """What the recognizer made of one crop: how many letters and digits, how sure."""

    alnum: int
    score: float

    @property
    def readable(self) -> bool:
        return self.score >= MIN_SCORE and self.alnum >= MIN_ALNUM

    @property
    def faint(self) -> bool:
        return self.score >= FAINT_SCORE and self.alnum >= MIN_ALNUM - 1


def _recognizer() -> Any:
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR  # 1 s to load: only when text is read

            _engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        return _engine.text_rec


def _prepared(crop: np.ndarray) -> np.ndarray:
    """An 8-bit BGR crop, upscaled so small glyphs reach the recognizer's height."""
    rows = crop.shape[0]
    if rows < _CROP_HEIGHT // 2:
        scale = _CROP_HEIGHT / rows
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)


def read_crops(crops: Sequence[np.ndarray]) -> list[Reading]:
    """Readings of 8-bit grey line crops, in order."""
    if not crops:
        return []
    recognize = _recognizer()
    results, _ = recognize([_prepared(c) for c in crops])
    return [
        Reading(sum(ch.isascii() and ch.isalnum() for ch in text), float(score))
        for text, score in results
    ]
