"""A cheap screen for burned-in text, run on every frame of every image.

Consoles and capture devices burn text in as thin, high-contrast strokes of one
height, side by side on a baseline. The screen looks for exactly that, whatever the
modality says: a morphological top-hat (bright text) and black-hat (dark text) keep
strokes narrower than the kernel, connected components of glyph size are kept, and
glyphs of similar height that sit on one line with letter-sized gaps are chained.
A chain of three or more glyphs is a candidate text line. Anatomy sometimes chains
too; OCR (``pixels.ocr``) reads only the candidates, so the screen can afford to err
on the side of firing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from medshare_anonymizer.pixels.regions import Box

WORK_SIDE = 1024  # frames larger than this are screened downsampled (area average)
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
_CONTRAST = 48  # stroke brightness above its surroundings, in 0..255 of the frame's range
_MIN_HEIGHT, _MAX_HEIGHT = 5, 48  # glyph height in working pixels
# A frame with more glyph-sized blobs than this is texture: screened again at a higher
# contrast (burned-in text is drawn at or near the extreme of the range, so it stays).
_MAX_GLYPHS = 400
_CONTRASTS = (16, 24, 32, _CONTRAST, 96, 160, 224)
_MAX_INK = 0.04  # text strokes cover a few percent of a frame at most
_MIN_CHAIN = 3


@dataclass(frozen=True)
class Line:
    """A candidate text line in frame pixels, with its glyph height."""

    box: Box
    height: int
    glyphs: int


def as_gray8(frame: np.ndarray, factor: int = 1) -> np.ndarray:
    """One 8-bit channel spanning the frame's own range (colour: luminance, so white text
    on a saturated colour still stands out), downsampled by ``factor`` (area average,
    so thin strokes survive as fainter ones)."""
    if frame.ndim == 3 and frame.dtype == np.uint8 and frame.shape[2] == 3:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    elif frame.ndim == 3:
        gray = frame.astype(np.float32).mean(axis=-1)
    else:
        gray = frame
    if gray.dtype not in (np.uint8, np.uint16, np.int16, np.float32):
        gray = gray.astype(np.float32)
    if factor > 1:
        rows, columns = gray.shape
        size = (max(1, columns // factor), max(1, rows // factor))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    low, high = float(gray.min()), float(gray.max())
    if high <= low:
        return np.zeros(gray.shape, dtype=np.uint8)
    if gray.dtype == np.uint8 and low == 0 and high == 255:
        return np.ascontiguousarray(gray)
    return cv2.convertScaleAbs(gray, alpha=255.0 / (high - low), beta=-low * 255.0 / (high - low))


def _glyphs(mask: np.ndarray) -> np.ndarray:
    """Rows (x, y, w, h) of glyph-sized components of ``mask``."""
    # Grana's block-based labelling: the same components, about 3x faster here than
    # OpenCV's default choice for 8-connectivity with statistics.
    _, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_GRANA
    )
    x, y, w, h, area = (stats[1:, i].astype(np.float32) for i in range(5))
    fill = area / np.maximum(w * h, 1)
    keep = (
        (h >= _MIN_HEIGHT) & (h <= _MAX_HEIGHT) & (w <= 3 * h + 4) & (area >= 6)
        & ((fill <= 0.92) | (w <= 0.45 * h))
    )  # fmt: skip
    return np.stack([x, y, w, h], axis=1)[keep]


def _chains(glyphs: np.ndarray) -> list[np.ndarray]:
    """Groups of glyphs linked by similar height, a shared line and letter-sized gaps."""
    n = len(glyphs)
    if n < _MIN_CHAIN:
        return []
    x, y, w, h = glyphs[:, 0], glyphs[:, 1], glyphs[:, 2], glyphs[:, 3]
    bottom = y + h
    tall = np.maximum(h[:, None], h[None, :])
    short = np.minimum(h[:, None], h[None, :])
    gap = np.maximum(x[None, :] - (x + w)[:, None], x[:, None] - (x + w)[None, :])
    overlap = np.minimum(bottom[:, None], bottom[None, :]) - np.maximum(y[:, None], y[None, :])
    linked = (
        (short * 2.2 >= tall) & (gap <= 1.3 * tall) & (gap >= -0.5 * short)
        & (overlap >= 0.5 * short)
    )  # fmt: skip
    np.fill_diagonal(linked, False)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for i, j in zip(*np.nonzero(np.triu(linked)), strict=True):
        a, b = root(int(i)), root(int(j))
        if a != b:
            parent[b] = a
    roots = np.array([root(i) for i in range(n)])
    groups = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    return [g for g in groups if len(g) >= _MIN_CHAIN]


def _level(contrast: np.ndarray) -> int:
    """The lowest contrast level at which no more than ``_MAX_INK`` of the frame is ink."""
    counts = cv2.calcHist([contrast], [0], None, [256], [0, 256]).ravel()
    above = np.cumsum(counts[::-1])[::-1] / contrast.size  # share of pixels >= each level
    for level in _CONTRASTS:
        if above[level + 1] <= _MAX_INK:
            return level
    return _CONTRASTS[-1]


def _lines(gray: np.ndarray) -> list[tuple[int, int, int, int, int, int]]:
    """(x0, y0, x1, y1, height, glyphs) of candidate lines in ``gray``'s pixels."""
    found = []
    for op in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        contrast = cv2.morphologyEx(gray, op, _KERNEL)
        _, mask = cv2.threshold(contrast, _level(contrast), 255, cv2.THRESH_BINARY)
        glyphs = _glyphs(mask)
        if len(glyphs) > _MAX_GLYPHS:
            glyphs = glyphs[np.argsort(-glyphs[:, 3])[:_MAX_GLYPHS]]
        for group in _chains(glyphs):
            g = glyphs[group]
            x0, y0 = int(g[:, 0].min()), int(g[:, 1].min())
            x1, y1 = int((g[:, 0] + g[:, 2]).max()), int((g[:, 1] + g[:, 3]).max())
            height = int(np.median(g[:, 3]))
            if x1 - x0 >= 2 * height:
                found.append((x0, y0, x1, y1, height, len(group)))
    return found


def screen_frame(frame: np.ndarray) -> list[Line]:
    """Candidate text lines of one frame (rows x columns [x samples]), in frame pixels."""
    rows, columns = frame.shape[:2]
    factor = max(1, -(-max(rows, columns) // WORK_SIDE))
    gray = as_gray8(frame, factor)
    lines = []
    for x0, y0, x1, y1, height, glyphs in _lines(gray):
        pad = max(2, height // 3)
        box = Box(max(0, (x0 - pad) * factor), max(0, (y0 - pad) * factor),
                  min(columns, (x1 + pad) * factor), min(rows, (y1 + pad) * factor))  # fmt: skip
        lines.append(Line(box, height * factor, glyphs))
    return lines
