"""A page's uneven lighting divided out before its lines are found and cut: a phone photo
or a scan with a shadow has paper that is white in one corner and grey in another, which
one threshold for the whole page cannot tell from ink. The paper's brightness is
estimated on a small copy of the page (the brightest pixel around each point, ink being
thinner than the window, then smoothed) and each pixel divided by it, as kraken's
``nlbin`` and most document scanners do. A scan whose paper is even already is left
as it is."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

SIDE = 256  # pixels: the longer side of the copy the paper is estimated on
WINDOW = 9  # pixels of that copy (a twenty-eighth of the page): wider than any stroke, narrower than a shadow
SMOOTH = 3.0  # the Gaussian's sigma in those pixels, so that the estimate has no edges of its own
EVEN = 0.9  # paper whose darkest part is this bright against its brightest is left as it is
DARKEST_PAPER = 0.05  # paper is never divided by less (a black border stays black)


def paper_brightness(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` gray page, 0 black and 1 white -> an estimate of its paper's brightness
    on a copy at most :data:`SIDE` pixels on its longer side, ``(h, w)`` float32."""
    height, width = gray.shape
    factor = max(1, round(max(height, width) / SIDE))
    small = Image.fromarray(gray.astype(np.float32)).resize((max(1, width // factor), max(1, height // factor)),
                                                            Image.Resampling.BOX)
    return ndimage.gaussian_filter(ndimage.maximum_filter(np.asarray(small), size=WINDOW), SMOOTH)


def even_out(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` gray page -> the same with its paper white wherever the light fell: each
    pixel divided by :func:`paper_brightness` (brought to full size), in [0, 1]. A page
    whose paper is even already (every scan of the Copiste pages) is returned as it is."""
    paper = paper_brightness(gray)
    if np.percentile(paper, 1) >= EVEN * np.percentile(paper, 99):
        return gray
    full = np.asarray(Image.fromarray(paper).resize(gray.shape[::-1], Image.Resampling.BILINEAR))
    return np.clip(gray / np.maximum(full, DARKEST_PAPER), 0, 1).astype(np.float32)
