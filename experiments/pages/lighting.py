"""Copies of page scans under the light a phone or a desk lamp gives, beside their XML, so
that `recognize evaluate` scores them as it scores the scans:

    python experiments/pages/lighting.py ../shared/data/copiste/pages/val -o lit/
    recognize evaluate lit/lamp --decoder greedy ; recognize evaluate lit/shadow --decoder greedy

``lamp/``: the light falls off from a point off one corner (which one goes round the
pages), paper from white to 0.35, in warm light, blurred by a pixel and saved as JPEG of
quality 70. ``shadow/``: a soft-edged shadow (0.55 of the light) over a part of the page
that moves from page to page, JPEG of quality 85.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

LAMPS = [(0.2, 0.1), (0.6, 0.0), (0.0, 0.7)]  # where the light comes from, in page widths


def lamp(rgb: np.ndarray, number: int) -> Image.Image:
    """``(H, W, 3)`` in [0, 1] -> the page lit from ``LAMPS[number % 3]``."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    cx, cy = LAMPS[number % len(LAMPS)]
    light = np.clip(0.55 + 0.4 * (1 - ((xx - cx) ** 2 + (yy - cy) ** 2) ** 0.5), 0.35, 1.0)[..., None]
    lit = np.clip(rgb * light * np.array([1.0, 0.95, 0.85]), 0, 1)
    return Image.fromarray((lit * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))


def shadow(rgb: np.ndarray, number: int) -> Image.Image:
    """``(H, W, 3)`` in [0, 1] -> the page with a shadow whose edge moves with ``number``."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    edge = (xx * 0.8 + yy * 0.6) - (0.55 + 0.1 * (number % 4))
    shade = 1 - 0.45 / (1 + np.exp(-edge * 40))
    return Image.fromarray((np.clip(rgb * shade[..., None], 0, 1) * 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", help="a folder of page images each beside its XML")
    parser.add_argument("-o", "--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    xmls = sorted(Path(args.pages).glob("*.xml"))
    for number, xml in enumerate(xmls):
        image = next(p for p in xml.parent.glob(f"{xml.stem}.*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        rgb = np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) / 255
        for name, light, quality in (("lamp", lamp, 70), ("shadow", shadow, 85)):
            (out / name).mkdir(parents=True, exist_ok=True)
            light(rgb, number).save(out / name / f"{xml.stem}.jpg", quality=quality)
            shutil.copy(xml, out / name / xml.name)
    print(f"{len(xmls)} pages -> {out / 'lamp'}, {out / 'shadow'}")


if __name__ == "__main__":
    main()
