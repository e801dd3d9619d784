"""A page photographed or scanned askew, turned straight before its lines are found: the
line finder follows lines that slope a few degrees, but past five or so a line's strip
profile smears into its neighbours'. The skew is the angle at which the rows of the ink
(the writing and a form's ruling alike) are most sharply separated: the variance of
the ink's row profile, largest when lines lie level, over angles up to
:data:`MOST_DEGREES` either way, a degree apart and then a tenth around the best."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ..inputs.level import ink_of

MOST_DEGREES = 15  # a page is looked at up to this far askew either way
TURN_FROM = 1.5  # degrees: a page askew by less is read as it is (the finder follows that much)
WIDTH = 600  # pixels: the width the skew is measured at


def skew_of(gray: np.ndarray) -> float:
    """``(H, W)`` gray page, 0 black and 1 white -> how far its lines are turned, in degrees
    counter-clockwise (as :meth:`PIL.Image.Image.rotate` turns); 0 for a blank page."""
    scale = WIDTH / gray.shape[1]
    small = Image.fromarray(gray.astype(np.float32, copy=False)).resize(
        (WIDTH, max(1, round(gray.shape[0] * scale))), Image.Resampling.BOX)
    ink = ink_of(np.asarray(small))
    if not ink.any():
        return 0.0
    mask = Image.fromarray(ink.astype(np.uint8) * 255)

    def sharpness(degrees: float) -> float:  # turning by -degrees levels lines turned by degrees
        rows = np.asarray(mask.rotate(-degrees, resample=Image.Resampling.NEAREST, expand=True), np.float32).sum(1)
        return float(np.var(rows))

    best = max(range(-MOST_DEGREES, MOST_DEGREES + 1), key=sharpness)
    return max((best + tenth / 10 for tenth in range(-9, 10)), key=sharpness)


def turn_level(gray: np.ndarray, degrees: float):
    """``(H, W)`` gray page turned by ``-degrees`` so that its lines lie level, on white
    paper around it, and the function that takes a point ``(x, y)`` of the turned page back
    to the page."""
    turned = Image.fromarray(gray.astype(np.float32)).rotate(-degrees, resample=Image.Resampling.BILINEAR,
                                                              expand=True, fillcolor=1.0)
    h, w = gray.shape
    cx, cy, tx, ty = w / 2, h / 2, turned.width / 2, turned.height / 2
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def back(x: float, y: float) -> tuple[float, float]:  # image y points down: a turn of +degrees is clockwise there
        dx, dy = x - tx, y - ty
        return cx + dx * cos + dy * sin, cy - dx * sin + dy * cos

    return np.asarray(turned), back
