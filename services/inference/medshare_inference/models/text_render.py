"""Burned-in text and look-alike graphics, drawn onto real images for the detector.

Text is what scanners and ultrasound machines burn in: patient names, dates, times, IDs,
institution names and acquisition parameters, as header lines, corner columns, labels
and boxed overlays, in varied fonts, sizes and contrasts. Graphics that are *not* text
(rulers, calipers, boxes, lines, grey bars) go on positives and negatives alike, so the
network must learn the difference instead of flagging any overlay.

Everything is drawn as an ink mask first: the mask is the ground truth for the grid.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Symbol and fallback fonts draw boxes or math signs, not text.
_SKIP_FONTS = ("cmex", "cmsy", "cmmi", "STIXSiz", "STIXNonUni", "LastResort", "DejaVuMath")
# Held out of training, for the synthetic test set: Computer Modern and STIX italics.
_TEST_FONT_PREFIXES = ("cm", "STIXGeneralItalic", "STIXGeneralBolIta")


def _items(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


FIRST = _items("JOHN|MARY|Rosalind|Ezekiel|ANA|Li|Olu|Priya|Jean-Luc|KIM")
LAST = _items("SMITH|Quimby|NAKAMURA|Delacroix|O'BRIEN|Abernathy|ZZZTEST|Ng")
PLACES = _items(
    "CCHS CLEVELAND CLINIC|Springfield General|WESTWAY MEDICAL|St. Mary's|BAPTIST MED CTR|"
    "Riverton Imaging|UNIV HOSPITAL RADIOLOGY"
)
MONTHS = _items("JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC")
PARAMETERS = _items(
    "TIS 0.4|MI 1.1|C5-1|28Hz|Gn 60|2D 60%|Dyn R 58|4.0cm|75 bpm|L12-5|H4.00 MHz|DR60|19fps|"
    "P Low|HGen|CF 68%|kVp 120|mAs 250|W 400 L 40|Se 3|Im 42|3.0mm|AP|PORTABLE"
)


@dataclass(frozen=True)
class FontSpec:
    kind: str  # "ttf", "default" (Pillow's scalable Aileron) or "bitmap" (Pillow's fixed font)
    path: str = ""


@cache
def font_bank() -> dict[str, tuple[FontSpec, ...]]:
    """{"train": ..., "test": ...}: installed TrueType fonts plus Pillow's built-in ones."""
    import matplotlib

    folders = [Path("/usr/share/fonts"), Path(matplotlib.get_data_path()) / "fonts" / "ttf"]
    paths = sorted(
        {p.name: p for folder in folders if folder.exists() for p in folder.rglob("*.ttf")}.items()
    )
    train: list[FontSpec] = [FontSpec("default"), FontSpec("bitmap")]
    test: list[FontSpec] = []
    for name, path in paths:
        if name.startswith(_SKIP_FONTS):
            continue
        (test if name.startswith(_TEST_FONT_PREFIXES) else train).append(FontSpec("ttf", str(path)))
    return {"train": tuple(train), "test": tuple(test) or tuple(train)}


@cache
def _truetype(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    if spec.kind == "default":
        font = ImageFont.load_default(size=size)
        assert isinstance(font, ImageFont.FreeTypeFont)
        return font
    return ImageFont.truetype(spec.path, size)


def random_text(rng: np.random.Generator) -> str:
    """One line of the kind of text scanners burn in."""
    pick = rng.integers(0, 9)
    day, month, year = (
        int(rng.integers(1, 29)),
        int(rng.integers(1, 13)),
        int(rng.integers(1930, 2025)),
    )
    first, last = str(rng.choice(FIRST)), str(rng.choice(LAST))
    if pick == 0:
        return str(
            rng.choice(
                [f"{last}^{first}", f"{last}, {first}", f"{first} {last}", f"{last},{first}"]
            )
        )
    if pick == 1:
        return str(
            rng.choice(
                [
                    f"{month:02d}/{day:02d}/{year}",
                    f"{year}-{month:02d}-{day:02d}",
                    f"{day:02d}-{MONTHS[month - 1]}-{year}",
                    f"DOB: {month}/{day}/{year}",
                    f"{year}{month:02d}{day:02d}",
                ]
            )
        )
    if pick == 2:
        hour, minute, second = rng.integers(0, 24), rng.integers(0, 60), rng.integers(0, 60)
        return f"{hour:02d}:{minute:02d}:{second:02d}" + str(rng.choice(["", " AM", "PM"]))
    if pick == 3:
        digits = "".join(rng.choice(list(string.digits), size=int(rng.integers(6, 12))))
        return str(rng.choice(["", "MRN ", "ID: ", "Acc# ", "PID "])) + digits
    if pick == 4:
        return str(rng.choice(PLACES))
    if pick == 5:
        return " ".join(rng.choice(PARAMETERS, size=int(rng.integers(1, 3))))
    if pick == 6:
        alphabet = list(string.ascii_uppercase + string.digits)
        return "".join(rng.choice(alphabet, size=int(rng.integers(3, 10))))
    if pick == 7:
        return f"{last} {first[0]} {rng.integers(18, 95)}Y {rng.choice(['M', 'F'])}"
    return str(rng.choice(["Sag Liver L-M", "LYMPH NODE", "Adv Breast", "rt hip inj", "Renal"]))


def _text_mask(text: str, spec: FontSpec, height_px: int) -> np.ndarray:
    """Ink of one line (float32 0..1), about `height_px` tall."""
    if spec.kind == "bitmap":
        bitmap = ImageFont.load_default_imagefont()
        left, top, right, bottom = bitmap.getbbox(text)
        small = Image.new("L", (right - left + 2, bottom - top + 2), 0)
        ImageDraw.Draw(small).text((1 - left, 1 - top), text, fill=255, font=bitmap)
        scale = max(1, round(height_px / 9))  # bitmap fonts are scaled by pixel doubling
        big = small.resize((small.width * scale, small.height * scale), Image.Resampling.NEAREST)
        return np.asarray(big, dtype=np.float32) / 255.0
    font = _truetype(spec, max(6, round(height_px * 1.35)))
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    canvas = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), text, fill=255, font=font)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _paste(target: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    """max-composite `patch` into `target` at (top, left), clipped to the target."""
    height, width = target.shape
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + patch.shape[0], height), min(left + patch.shape[1], width)
    if t1 <= t0 or l1 <= l0:
        return
    region = patch[t0 - top : t1 - top, l0 - left : l1 - left]
    np.maximum(target[t0:t1, l0:l1], region, out=target[t0:t1, l0:l1])


class Overlay:
    """Ink (what is drawn) and its colour, composited onto an image at the end."""

    def __init__(self, shape: tuple[int, int]):
        self.text_ink = np.zeros(shape, dtype=np.float32)
        self.layers: list[tuple[np.ndarray, float]] = []  # (alpha, value) in drawing order

    def add(self, alpha: np.ndarray, value: float) -> None:
        self.layers.append((alpha, value))

    def apply(self, image: np.ndarray) -> np.ndarray:
        out = image.copy()
        for alpha, value in self.layers:
            out = out * (1.0 - alpha) + value * alpha
        return out


def _contrasting(background: float, rng: np.random.Generator, low_contrast: bool) -> float:
    gap = rng.uniform(0.15, 0.3) if low_contrast else rng.uniform(0.45, 1.0)
    value = background + gap if background < 0.5 else background - gap
    return float(np.clip(value, 0.0, 1.0))


def draw_text(
    image: np.ndarray, overlay: Overlay, rng: np.random.Generator, fonts: tuple[FontSpec, ...]
) -> None:
    """1-3 text blocks: header line, corner column, label or boxed label."""
    height, width = image.shape
    for _ in range(int(rng.integers(1, 4))):
        spec = fonts[int(rng.integers(0, len(fonts)))]
        # Cap height as a share of the image: ~4 to ~30 px once downscaled to 256. Small
        # text (scanner headers: 1.5-3.5 % of the height) is the hard case: half the draws.
        low, high = (0.015, 0.035) if rng.random() < 0.5 else (0.035, 0.12)
        share = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        text_px = max(5, round(height * share))
        layout = int(rng.integers(0, 4))
        lines = int(rng.integers(2, 7)) if layout == 1 else 1
        masks = [_text_mask(random_text(rng), spec, text_px) for _ in range(lines)]
        block_h = sum(m.shape[0] for m in masks) + (lines - 1) * text_px // 3
        block_w = max(m.shape[1] for m in masks)
        margin = int(rng.integers(0, max(2, height // 40)))
        if layout == 0:  # header or footer line
            top = margin if rng.random() < 0.7 else height - block_h - margin
            left = int(rng.integers(0, max(1, width - block_w)))
        elif layout == 1:  # column of parameters along a side
            top = int(rng.integers(0, max(1, height - block_h)))
            left = margin if rng.random() < 0.6 else width - block_w - margin
        else:  # anywhere
            top = int(rng.integers(-block_h // 4, max(1, height - block_h * 3 // 4)))
            left = int(rng.integers(-block_w // 4, max(1, width - block_w * 3 // 4)))
        ink = np.zeros_like(image)
        y = top
        for mask in masks:
            indent = (
                int(rng.integers(0, max(1, block_w - mask.shape[1] + 1)))
                if rng.random() < 0.3
                else 0
            )
            _paste(ink, mask, y, left + indent)
            y += mask.shape[0] + text_px // 3
        region = image[max(top, 0) : max(top, 0) + block_h, max(left, 0) : max(left, 0) + block_w]
        background = float(region.mean()) if region.size else 0.0
        if layout == 3 or rng.random() < 0.15:  # a filled box behind the text (overlay panels)
            pad = max(2, text_px // 3)
            box = np.zeros_like(image)
            box[
                max(top - pad, 0) : max(top + block_h + pad, 0),
                max(left - pad, 0) : max(left + block_w + pad, 0),
            ] = 1.0
            background = float(rng.choice([0.0, rng.uniform(0.1, 0.5), 1.0]))
            overlay.add(box, background)
        value = _contrasting(background, rng, low_contrast=rng.random() < 0.15)
        overlay.add(ink, value)
        np.maximum(overlay.text_ink, ink, out=overlay.text_ink)


def _curve(rng: np.random.Generator, width: int, height: int) -> list[tuple[float, float]]:
    """A smooth hand-drawn stroke (an outline, an arc, a trace): a random walk of headings."""
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    heading, step = rng.uniform(0, 2 * np.pi), min(width, height) * rng.uniform(0.005, 0.02)
    turn = rng.uniform(-0.15, 0.15)
    points = []
    for _ in range(int(rng.integers(20, 200))):
        points.append((x, y))
        heading += turn + rng.normal(0, 0.05)
        x, y = x + step * np.cos(heading), y + step * np.sin(heading)
    return points


def draw_graphics(image: np.ndarray, overlay: Overlay, rng: np.random.Generator) -> None:
    """Non-text marks: rulers, calipers, lines, boxes, circles, curves, a grey bar."""
    height, width = image.shape
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(min(height, width) / 300))
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(0, 7))
        x0, x1 = sorted(rng.integers(0, width, size=2).tolist())
        y0, y1 = sorted(rng.integers(0, height, size=2).tolist())
        if kind == 0:  # depth ruler: dots or dashes at even spacing along one side
            x = int(
                rng.choice(
                    [rng.integers(0, width // 12 + 1), width - 1 - rng.integers(0, width // 12 + 1)]
                )
            )
            step = int(rng.integers(max(4, height // 30), max(5, height // 8)))
            tick = int(rng.integers(1, max(2, width // 60)))
            for y in range(int(rng.integers(0, step)), height, step):
                draw.rectangle([x, y, x + tick, y + line], fill=255)
        elif kind == 1:  # caliper crosses joined by a dotted line
            size = int(rng.integers(3, max(4, height // 40)))
            for cx, cy in ((x0, y0), (x1, y1)):
                draw.line([cx - size, cy, cx + size, cy], fill=255, width=line)
                draw.line([cx, cy - size, cx, cy + size], fill=255, width=line)
            for t in np.linspace(0, 1, int(rng.integers(4, 14))):
                draw.point((x0 + t * (x1 - x0), y0 + t * (y1 - y0)), fill=255)
        elif kind == 2:
            draw.line([x0, y0, x1, y1], fill=255, width=line)
        elif kind == 3:
            draw.rectangle([x0, y0, x1, y1], outline=255, width=line)
        elif kind == 4:
            draw.ellipse([x0, y0, x1, y1], outline=255, width=line)
        elif kind == 5:
            draw.line(_curve(rng, width, height), fill=255, width=line + int(rng.integers(0, 3)))
        else:  # vertical grey-scale bar
            bar_w = int(rng.integers(4, max(5, width // 40)))
            bar_h = int(rng.integers(height // 6, height // 2))
            gradient = np.linspace(1.0, 0.0, bar_h, dtype=np.float32)[:, None].repeat(bar_w, 1)
            alpha = np.zeros_like(image)
            _paste(alpha, np.ones_like(gradient), y0, x0)
            ramp = np.zeros_like(image)
            _paste(ramp, gradient, y0, x0)
            overlay.add(alpha, 0.0)
            overlay.layers.append((alpha * ramp, 1.0))
    # Marks contrast with the picture: bright on dark images, dark on bright ones.
    bright = float(image.mean()) < 0.5 or rng.random() < 0.2
    value = rng.uniform(0.5, 1.0) if bright else rng.uniform(0.0, 0.4)
    overlay.add(np.asarray(canvas, dtype=np.float32) / 255.0, float(value))


def ultrasound_background(rng: np.random.Generator) -> np.ndarray:
    """A text-free ultrasound-like frame: speckle in a sector or rectangle on black.

    pydicom-data's clean ultrasounds are held out, so without these the network would
    learn "ultrasound = text" from the natural-text training images.
    """
    height, width = int(rng.integers(300, 700)), int(rng.integers(400, 900))
    speckle = rng.rayleigh(1.0, size=(height // 2, width // 2)).astype(np.float32)
    speckle_image = Image.fromarray(speckle, mode="F").resize(
        (width, height), Image.Resampling.BILINEAR
    )
    texture = np.asarray(speckle_image, dtype=np.float32) / 3.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture *= np.exp(-yy / height * rng.uniform(0.2, 2.0))
    for _ in range(int(rng.integers(0, 4))):  # dark cysts and bright walls
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(10, height / 4)
        texture *= np.where((yy - cy) ** 2 + (xx - cx) ** 2 < r**2, rng.uniform(0.05, 2.0), 1.0)
    mask = np.zeros((height, width), dtype=bool)
    if rng.random() < 0.5:  # sector from an apex at the top
        apex_x, spread = width / 2 + rng.uniform(-0.1, 0.1) * width, rng.uniform(0.4, 0.8)
        angle = np.arctan2(xx - apex_x, yy + 1)
        radius = np.hypot(xx - apex_x, yy)
        mask = (np.abs(angle) < spread) & (radius < height * rng.uniform(0.8, 1.0))
    else:
        top, left = int(rng.integers(0, height // 6)), int(rng.integers(0, width // 4))
        mask[top : height - int(rng.integers(0, height // 6)), left : width - left] = True
    return np.clip(np.where(mask, texture, 0.0), 0.0, 1.0).astype(np.float32)
