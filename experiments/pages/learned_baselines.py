"""Would a small learned baseline detector find Copiste lines better than the classical finder?

A kraken-style segmenter in miniature: a 108 k-parameter U-Net (3 scales, a dilated
bottleneck) learns to mark each line's baseline (3 px) and region from the ALTO of the
262 training pages, at 512 px width. Its baselines (connected components of p > 0.3, one
point every 8 px, raised a third of a line spacing to the core) then replace the
classical finder's line centres (`recognize.layout.finder.line_centres`); grouping,
envelopes and reading stay as they are, so the comparison is of the centres alone.

    python experiments/pages/learned_baselines.py train --epochs 30 --out /tmp/unet.pt   # ~20 min, 2 CPU threads
    python experiments/pages/learned_baselines.py evaluate --net /tmp/unet.pt           # page CER, lines found

`evaluate` runs `recognize evaluate --json` on the validation pages, greedy, with the
learned centres. docs/reading.md has the figures and why the toolkit ships the classical finder.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage
from torch import nn

from recognize.inputs.image import open_image, to_gray
from recognize.layout import finder
from recognize.layout.page_xml import read_page_xml

PAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "copiste" / "pages"
WIDTH = 512  # pixels: pages are seen this wide
CROP = 256  # pixels: training crops are this square


def block(inputs: int, outputs: int, dilation: int = 1) -> nn.Module:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=dilation, dilation=dilation),
                         nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """``(N, 1, H, W)`` ink (1) on paper (0) -> ``(N, 2, H, W)`` logits: baseline, line region."""

    def __init__(self, c: int = 12):
        super().__init__()
        self.e1 = nn.Sequential(block(1, c), block(c, c))
        self.e2 = nn.Sequential(block(c, 2 * c), block(2 * c, 2 * c))
        self.e3 = nn.Sequential(block(2 * c, 4 * c), block(4 * c, 4 * c, 2), block(4 * c, 4 * c, 4),
                                block(4 * c, 4 * c, 8))
        self.d2 = nn.Sequential(block(6 * c, 2 * c), block(2 * c, 2 * c))
        self.d1 = nn.Sequential(block(3 * c, c), block(c, c))
        self.head = nn.Conv2d(c, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.e1(x)
        b = self.e2(nn.functional.max_pool2d(a, 2))
        c = self.e3(nn.functional.max_pool2d(b, 2))
        d = self.d2(torch.cat([nn.functional.interpolate(c, size=b.shape[-2:]), b], 1))
        return self.head(self.d1(torch.cat([nn.functional.interpolate(d, size=a.shape[-2:]), a], 1)))


def ink_at_width(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """``(H, W)`` gray page -> ``(h, WIDTH)`` ink in [0, 1] (paper 0), and the scale."""
    scale = WIDTH / gray.shape[1]
    small = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    small = np.asarray(small.resize((WIDTH, round(gray.shape[0] * scale)), Image.Resampling.BOX), np.float32) / 255
    ink = 1 - small
    paper = np.median(ink)
    return np.clip((ink - paper) / max(ink.max() - paper, 0.1), 0, 1), scale


def targets(image: Path, shape: tuple[int, int], scale: float) -> np.ndarray:
    """``(2, h, WIDTH)``: the page's ALTO baselines (3 px) and line regions, drawn."""
    page = read_page_xml(image.with_suffix(".xml"), Image.open(image).size)[0]
    base, region = Image.new("L", shape[::-1]), Image.new("L", shape[::-1])
    for line in page.lines:
        if len(line.polygon) >= 3:
            ImageDraw.Draw(region).polygon([(x * scale, y * scale) for x, y in line.polygon], fill=255)
        if len(line.baseline) >= 2:
            ImageDraw.Draw(base).line([(x * scale, y * scale) for x, y in line.baseline], fill=255, width=3)
    return np.stack([np.asarray(base) > 0, np.asarray(region) > 0]).astype(np.float32)


def train(epochs: int, out: Path, limit: int | None = None) -> None:
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    pages = []
    for image in sorted((PAGES / "train").glob("*.jpg"))[:limit]:
        ink, scale = ink_at_width(to_gray(open_image(image)))
        pages.append((ink, targets(image, ink.shape, scale)))
    net = UNet()
    print(f"{len(pages)} pages, {sum(p.numel() for p in net.parameters())} parameters", flush=True)
    optimizer = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=epochs * (len(pages) // 8 + 1))
    weight = torch.tensor([8.0, 1.0])[None, :, None, None]  # baselines are thin: weigh their pixels up
    for epoch in range(epochs):
        started, total, order = time.time(), 0.0, rng.permutation(len(pages))
        for b in range(0, len(order), 8):
            crops = []
            for i in order[b : b + 8]:
                ink, target = pages[i]
                top, left = rng.integers(0, ink.shape[0] - CROP), rng.integers(0, ink.shape[1] - CROP)
                crops.append((ink[None, top : top + CROP, left : left + CROP],
                              target[:, top : top + CROP, left : left + CROP]))
            x, y = (torch.from_numpy(np.stack(part)) for part in zip(*crops))
            loss = nn.functional.binary_cross_entropy_with_logits(net(x), y, pos_weight=weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: loss {total / (len(order) / 8):.4f} ({time.time() - started:.0f} s)", flush=True)
        torch.save(net.state_dict(), out)


def baselines(net: UNet, gray: np.ndarray, threshold: float = 0.3) -> list[np.ndarray]:
    """``(H, W)`` gray page -> each found baseline as ``(n, 2)`` points in page pixels."""
    ink, scale = ink_at_width(gray)
    with torch.no_grad():
        p = torch.sigmoid(net(torch.from_numpy(ink)[None, None]))[0, 0].numpy()
    labels, _ = ndimage.label(p > threshold, np.ones((3, 3)))
    found = []
    for k, box in enumerate(ndimage.find_objects(labels), 1):
        ys, xs = np.nonzero(labels[box] == k)
        if xs.max() - xs.min() < 12:
            continue
        xs, ys = xs + box[1].start, ys + box[0].start
        bins = xs // 8
        found.append(np.array([(xs[bins == b].mean(), ys[bins == b].mean()) for b in np.unique(bins)]) / scale)
    return found


def evaluate(net_path: Path, folder: Path) -> None:
    net = UNet()
    net.load_state_dict(torch.load(net_path))
    net.eval()
    page = {}
    find_lines = finder.find_lines

    def learned_find_lines(gray):
        page["scale"], page["baselines"] = finder.WORK_WIDTH / gray.shape[1], baselines(net, gray)
        return find_lines(gray)

    def learned_centres(text, spacing):  # one column, the whole page wide (Copiste pages have one)
        return [b * page["scale"] - (0, spacing / 3) for b in page["baselines"]]

    finder.columns = lambda text, spacing: [(0, text.shape[1])]
    finder.line_centres = learned_centres
    import recognize.runtime.pages as pages

    pages.find_lines = learned_find_lines
    from recognize.cli import main

    main(["evaluate", str(folder), "--decoder", "greedy", "--threads", "1", "--json"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["train", "evaluate"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", "--net", dest="net", type=Path, default=Path("/tmp/unet.pt"))
    parser.add_argument("--limit", type=int, help="train on the first LIMIT training pages only")
    parser.add_argument("--pages", type=Path, default=PAGES / "val", help="pages to evaluate on, beside their XML")
    args = parser.parse_args()
    train(args.epochs, args.net, args.limit) if args.step == "train" else evaluate(args.net, args.pages)
