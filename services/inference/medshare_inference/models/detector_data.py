"""Training and test samples for the burned-in text detector.

A sample is a real frame (or, sometimes, a text-free ultrasound-like frame), augmented
(crop, flip, size, gamma, inversion, noise), with look-alike graphics and, for positives,
rendered text. The label is the image verdict and a GRID x GRID map of the cells the
text's ink falls in. Frames that already carry real text are positives whose cells are
unknown: only their verdict is trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from medshare_inference.models.image_sources import SourceImage, is_held_out, load_pydicom_sources
from medshare_inference.models.images import model_input
from medshare_inference.models.text_render import (
    Overlay,
    draw_graphics,
    draw_text,
    font_bank,
    ultrasound_background,
)

INPUT_SIZE = 256
GRID = 4
# A cell counts as holding text when at least this much ink (in 256x256 pixels) falls in it.
CELL_INK_PX = 6.0
POSITIVE_SHARE = 0.5
NATURAL_SHARE = 0.2  # of positives: real burned-in text from pydicom-data
ULTRASOUND_SHARE = 0.25  # of backgrounds: synthetic text-free ultrasound frames


@dataclass
class Batch:
    images: np.ndarray  # (N, 1, S, S) float32
    has_text: np.ndarray  # (N,) float32
    grid: np.ndarray  # (N, GRID, GRID) float32
    grid_known: np.ndarray  # (N,) float32: 0 for natural-text frames


def grid_labels(text_ink: np.ndarray) -> np.ndarray:
    """GRID x GRID cells holding at least CELL_INK_PX of text ink at the model's input size."""
    image = Image.fromarray(text_ink.astype(np.float32), mode="F")
    small = np.asarray(image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BOX))
    cell = INPUT_SIZE // GRID
    per_cell = small.reshape(GRID, cell, GRID, cell).sum(axis=(1, 3))
    return (per_cell >= CELL_INK_PX).astype(np.float32)


def _augment_geometry(frame: np.ndarray, rng: np.random.Generator, whole: bool) -> np.ndarray:
    """Crop, flip, rotate, degrade and resize. `whole` (frames with real text) only resizes:
    cropping could cut away the text that makes the frame positive."""
    if not whole:
        height, width = frame.shape
        if rng.random() < 0.7:  # crop 60-100% of each side
            crop_h = int(height * rng.uniform(0.6, 1.0))
            crop_w = int(width * rng.uniform(0.6, 1.0))
            top = int(rng.integers(0, height - crop_h + 1))
            left = int(rng.integers(0, width - crop_w + 1))
            frame = frame[top : top + crop_h, left : left + crop_w]
        if rng.random() < 0.5:
            frame = frame[:, ::-1]
        if rng.random() < 0.15:
            frame = np.rot90(frame, int(rng.integers(1, 4)))
        if rng.random() < 0.1:  # a small image enlarged: soft, blocky, and not text
            small = max(32, round(min(frame.shape) * rng.uniform(0.1, 0.3)))
            scale = small / min(frame.shape)
            size = (max(8, round(frame.shape[1] * scale)), max(8, round(frame.shape[0] * scale)))
            image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.float32), mode="F")
            frame = np.asarray(image.resize(size, Image.Resampling.BOX), dtype=np.float32)
    # Render at a size where text gets its natural pixel look: short side 224..512.
    scale = rng.uniform(224, 512) / min(frame.shape)
    size = (max(16, round(frame.shape[1] * scale)), max(16, round(frame.shape[0] * scale)))
    size = (min(size[0], 896), min(size[1], 896))
    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def _augment_intensity(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    frame = np.clip(frame, 0.0, 1.0) ** float(np.exp(rng.uniform(-0.5, 0.5)))
    if rng.random() < 0.1:
        frame = 1.0 - frame
    return frame * rng.uniform(0.6, 1.0) + rng.uniform(0.0, 0.1)


def _soften(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.2:  # a [1 2 1] blur along both axes, like lossy compression softens
        weight = rng.uniform(0.2, 0.5)
        for axis in (0, 1):
            frame = (1 - weight) * frame + weight / 2 * (
                np.roll(frame, 1, axis) + np.roll(frame, -1, axis)
            )
    return frame


def _prepare(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The serving path's input, plus sensor noise (cheaper at input size than before)."""
    image = model_input(_soften(frame, rng), INPUT_SIZE)
    if rng.random() < 0.3:
        image = image + rng.normal(0.0, rng.uniform(0.005, 0.04), image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


class DetectorData:
    """Samples from one side of the split ("train" or "test"): sources and fonts differ."""

    def __init__(self, split: str, sources: list[SourceImage] | None = None):
        if split not in ("train", "test"):
            raise ValueError("split must be train or test")
        sources = sources if sources is not None else load_pydicom_sources()
        side = [s for s in sources if is_held_out(s) == (split == "test")]
        self.split = split
        self.clean = [s for s in side if not s.natural_text]
        self.natural = [s for s in side if s.natural_text]
        self.fonts = font_bank()[split]
        if not self.clean:
            raise RuntimeError(f"no clean {split} images: is pydicom-data installed?")

    def _frame(self, pool: list[SourceImage], rng: np.random.Generator) -> np.ndarray:
        # Pick a family first, so 39 copies of one test pattern do not dominate.
        families = sorted({s.family for s in pool})
        family = families[int(rng.integers(0, len(families)))]
        members = [s for s in pool if s.family == family]
        source = members[int(rng.integers(0, len(members)))]
        return source.frames[int(rng.integers(0, len(source.frames)))]

    def sample(
        self, rng: np.random.Generator, positive: bool
    ) -> tuple[np.ndarray, float, np.ndarray, float]:
        """(model input, has_text, grid, grid_known)."""
        if positive and self.natural and rng.random() < NATURAL_SHARE:
            frame = _augment_geometry(self._frame(self.natural, rng), rng, whole=True)
            overlay = Overlay(frame.shape)
            if rng.random() < 0.3:
                draw_graphics(frame, overlay, rng)
            image = _prepare(overlay.apply(_augment_intensity(frame, rng)), rng)
            return image, 1.0, np.zeros((GRID, GRID), np.float32), 0.0
        if rng.random() < ULTRASOUND_SHARE:
            frame = _augment_geometry(ultrasound_background(rng), rng, whole=False)
        else:
            frame = _augment_geometry(self._frame(self.clean, rng), rng, whole=False)
        frame = _augment_intensity(frame, rng)
        overlay = Overlay(frame.shape)
        if rng.random() < 0.5:
            draw_graphics(frame, overlay, rng)
        if positive:
            draw_text(frame, overlay, rng, self.fonts)
        grid = grid_labels(overlay.text_ink)
        return _prepare(overlay.apply(frame), rng), float(grid.any()), grid, 1.0

    def batch(self, rng: np.random.Generator, size: int) -> Batch:
        samples = [self.sample(rng, positive=rng.random() < POSITIVE_SHARE) for _ in range(size)]
        return Batch(
            images=np.stack([s[0] for s in samples])[:, None].astype(np.float32),
            has_text=np.array([s[1] for s in samples], dtype=np.float32),
            grid=np.stack([s[2] for s in samples]).astype(np.float32),
            grid_known=np.array([s[3] for s in samples], dtype=np.float32),
        )


@dataclass
class Pool:
    """Pre-drawn samples, images as 8-bit (what most of them were stored as anyway)."""

    images: np.ndarray  # (N, S, S) uint8
    has_text: np.ndarray  # (N,) float32
    grid: np.ndarray  # (N, GRID * GRID) float32
    grid_known: np.ndarray  # (N,) float32


_pool_source: DetectorData | None = None  # set before forking workers, read in them
POOL_CHUNK = 64


def _draw_chunk(task: tuple[int, int]) -> Batch:
    seed, chunk = task
    assert _pool_source is not None
    return _pool_source.batch(np.random.default_rng([seed, chunk]), POOL_CHUNK)


def draw_pool(data: DetectorData, seed: int, count: int, processes: int) -> Pool:
    """`count` samples; chunk k comes from a generator seeded by (seed, k), so the pool is
    the same whatever the number of processes drawing it."""
    import multiprocessing

    global _pool_source
    _pool_source = data
    tasks = [(seed, chunk) for chunk in range((count + POOL_CHUNK - 1) // POOL_CHUNK)]
    try:
        if processes > 1:
            with multiprocessing.get_context("fork").Pool(processes) as workers:
                chunks = list(workers.imap(_draw_chunk, tasks))
        else:
            chunks = [_draw_chunk(task) for task in tasks]
    finally:
        _pool_source = None
    images = np.concatenate([c.images[:, 0] for c in chunks])[:count]
    return Pool(
        images=np.round(images * 255).astype(np.uint8),
        has_text=np.concatenate([c.has_text for c in chunks])[:count],
        grid=np.concatenate([c.grid.reshape(len(c.grid), -1) for c in chunks])[:count],
        grid_known=np.concatenate([c.grid_known for c in chunks])[:count],
    )


def pool_batch(pool: Pool, rng: np.random.Generator, size: int) -> Batch:
    """A training batch from the pool with fresh intensity jitter (gamma, gain, noise)."""
    index = rng.integers(0, len(pool.images), size=size)
    images = pool.images[index].astype(np.float32) / 255.0
    gamma = np.exp(rng.uniform(-0.3, 0.3, size=(size, 1, 1))).astype(np.float32)
    gain = rng.uniform(0.8, 1.0, size=(size, 1, 1)).astype(np.float32)
    images = np.clip(images, 1e-6, 1.0) ** gamma * gain
    noisy = rng.random(size) < 0.3
    images[noisy] += rng.normal(0.0, 0.02, images[noisy].shape).astype(np.float32)
    return Batch(
        images=np.clip(images, 0.0, 1.0)[:, None].astype(np.float32),
        has_text=pool.has_text[index],
        grid=pool.grid[index],
        grid_known=pool.grid_known[index],
    )
