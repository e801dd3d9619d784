"""Levelling a handwritten line: a straight baseline fitted under its ink, and the line
turned so that the baseline lies level.

Writers' lines climb or fall by a few degrees; a model reads them better level (the
bundled Copiste model: 10.1 -> 8.0 % CER on its validation writers,
``experiments/copiste/level_lines.py``). The page reader levels each line it cuts along
the baseline it found or was given; line images are levelled when the model's
``image.level`` is set.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

LEVEL_DEGREES = 1.0  # a line whose baseline slopes more than this is turned level; less is left as it is
MARGIN = 2  # rows of paper kept above and below a turned line's ink
MIN_ASPECT = 3  # a narrower line (a word or two) is left as it is: its baseline follows its letters' shapes


def ink_of(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` gray in [0, 1] -> bool ink: darker than the paper (the median) by a third
    of the way to the darkest ink (the 0.02nd percentile); none on a blank page."""
    paper, darkest = np.percentile(gray, [50, 0.02])
    if paper - darkest < 0.1:
        return np.zeros(gray.shape, dtype=bool)
    return gray < paper - (paper - darkest) / 3


def smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` convolved with a Gaussian of ``sigma`` samples (edges repeated)."""
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(sigma, 1e-3)) ** 2)
    padded = np.concatenate([np.full(radius, values[0]), values, np.full(radius, values[-1])])  # np.pad "edge", faster
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def baseline(xs: np.ndarray, ys: np.ndarray, strips: int = 6) -> list[tuple[float, float]]:
    """A straight baseline ``[(x0, y0), (x1, y1)]`` under the ink pixels ``(xs, ys)``: in
    each strip, the row under the core where the ink falls below half its peak; fitted by
    least squares. Empty when no strip holds 10 pixels."""
    x0, x1 = int(xs.min()), int(xs.max()) + 1
    points = []
    edges = np.linspace(x0, x1, strips + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        rows = ys[(xs >= a) & (xs < b)]
        if len(rows) < 10:
            continue
        top = rows.min()
        profile = np.bincount(rows - top).astype(np.float64)
        profile = smooth(profile, 1.5) if len(profile) > 3 else profile
        peak = int(np.argmax(profile))
        thin = np.flatnonzero(profile[peak:] < profile[peak] / 2)
        points.append(((a + b) / 2, top + peak + (thin[0] if len(thin) else len(profile) - peak)))
    if not points:
        return []
    px, py = np.array(points).T
    slope, offset = np.polyfit(px, py, 1) if len(px) > 1 else (0.0, py[0])
    return [(float(x0), float(slope * x0 + offset)), (float(x1 - 1), float(slope * (x1 - 1) + offset))]


def turn_angle(width: int, height: int, line_baseline: list[tuple[float, float]]) -> float:
    """Degrees (anticlockwise) that turn a ``width`` x ``height`` line image so that
    ``line_baseline`` lies level; 0 when it slopes by ``LEVEL_DEGREES`` or less, has no
    two points, or the image is less than ``MIN_ASPECT`` times as wide as high."""
    if len(line_baseline) < 2 or width < MIN_ASPECT * height:
        return 0.0
    (x0, y0), (x1, y1) = line_baseline[0], line_baseline[-1]
    angle = float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
    return angle if abs(angle) > LEVEL_DEGREES else 0.0


def straighten(crop: Image.Image, line_baseline: list[tuple[float, float]]) -> Image.Image:
    """A line image (mode ``L``, dark ink) turned by :func:`turn_angle` so that
    ``line_baseline`` lies level (:func:`turned`); ``crop`` itself when it need not turn
    or holds no ink."""
    angle = turn_angle(crop.width, crop.height, line_baseline)
    if not angle:
        return crop
    ys, xs = np.nonzero(ink_of(np.asarray(crop, dtype=np.float32) / 255))
    return turned(crop, angle, ys, xs) if len(xs) else crop


def turned(crop: Image.Image, angle: float, ys: np.ndarray, xs: np.ndarray) -> Image.Image:
    """``crop`` (mode ``L``) turned ``angle`` degrees anticlockwise, ``(ys, xs)`` being its
    ink pixels. The turn's corners take the paper's grey; the rows are trimmed to the ink's
    (``MARGIN`` either side) and the columns kept at ``crop``'s width around its centre, so
    that x positions still fall where they were (to within the height times the angle's sine)."""
    paper = int(np.median(np.asarray(crop)))
    out = crop.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=paper)
    # where the ink's pixel centres land: Pillow turns anticlockwise about the centre
    sine, cosine = np.sin(np.radians(angle)), np.cos(np.radians(angle))
    rows = (out.height / 2 - (xs + 0.5 - crop.width / 2) * sine + (ys + 0.5 - crop.height / 2) * cosine - 0.5)
    top, bottom = int(np.floor(rows.min())) - MARGIN, int(np.ceil(rows.max())) + 1 + MARGIN
    left = (out.width - crop.width) // 2
    return out.crop((left, max(0, top), left + crop.width, min(out.height, bottom)))


def level_line(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` gray line in [0, 1] (1 white) -> the same turned level along the
    :func:`baseline` of its :func:`ink_of` (:func:`turned`): ``(H', W)``, or ``gray``
    itself when it is level already, short, or holds no ink."""
    height, width = gray.shape
    if width < MIN_ASPECT * height:
        return gray
    ys, xs = np.nonzero(ink_of(gray))
    angle = turn_angle(width, height, baseline(xs, ys)) if len(xs) else 0.0
    if not angle:
        return gray
    crop = Image.fromarray(np.round(gray * 255).astype(np.uint8))  # converted only when it turns
    return np.asarray(turned(crop, angle, ys, xs), dtype=np.float32) / 255
