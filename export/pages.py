"""How long a page takes: finding its lines, and finding and reading them with the
bundled handwriting model, on one thread, with its default decoding and greedy.

    python export/pages.py [--pages ../shared/data/copiste/pages/val] [--limit 35]

Each page is timed in this process after one warm-up page (the ONNX session loaded
once, as `recognize read` loads it); the image is decoded inside the timing. Prints the
CPU, each figure's median and maximum over the pages, and the share of the time the
line finder takes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmark import cpu_model

from recognize.inputs.image import open_image, to_gray
from recognize.kinds import HANDWRITING
from recognize.layout.finder import find_lines
from recognize.runtime.loading import load_model
from recognize.runtime.pages import read_page

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default=str(ROOT.parent / "shared/data/copiste/pages/val"),
                        help="a folder of page images (default: the Copiste validation pages; else samples/)")
    parser.add_argument("--limit", type=int, default=35, help="pages to time")
    args = parser.parse_args()
    folder = Path(args.pages) if Path(args.pages).is_dir() else ROOT / "samples"
    pages = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))[: args.limit]
    print(f"{cpu_model()}; {len(pages)} pages from {folder}, one thread")
    for decoder in ("auto", "greedy"):
        recognizer = load_model(None, HANDWRITING, threads=1, decoder=decoder)
        read_page(recognizer, pages[0])  # warm-up
        finding, reading, lines = [], [], 0
        for page in pages:
            started = time.perf_counter()
            find_lines(to_gray(open_image(page)))
            finding.append(time.perf_counter() - started)
            started = time.perf_counter()
            lines += len(read_page(recognizer, page).lines)
            reading.append(time.perf_counter() - started)
        print(f"{recognizer.decoder_name}: found and read in {statistics.median(reading):.2f} s a page (median; "
              f"max {max(reading):.2f} s), {lines / sum(reading):.1f} lines/s; finding the lines alone "
              f"{statistics.median(finding):.2f} s (max {max(finding):.2f} s), "
              f"{100 * sum(finding) / sum(reading):.0f} % of the time")


if __name__ == "__main__":
    main()
