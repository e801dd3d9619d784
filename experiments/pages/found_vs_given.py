"""Where a page's reading loses to its gold lines: each page read along the lines the
finder finds and along the lines its XML gives, both scored against the XML's text.

    python experiments/pages/found_vs_given.py ../shared/data/copiste/pages/val [--decoder greedy|auto] [--worst 10]

Prints each page's CER both ways, the total, the heights of the found and the given lines'
boxes (median over lines matched to the same reference line), and the reference lines the
found lines read worst against the given ones. Both readings go through the same page
reader (lighting evened out, each line levelled and height-normalized), so what differs
is the lines: where they are cut.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from recognize import load_model
from recognize.evaluation.metrics import Counts
from recognize.evaluation.pages import match_lines, reference_page, score_page
from recognize.inputs.image import header_size
from recognize.runtime.pages import image_beside, read_page, read_segmented_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="page images beside their ALTO or PAGE XML")
    parser.add_argument("--decoder", default="greedy", choices=("greedy", "auto"))
    parser.add_argument("--worst", type=int, default=10, help="reference lines to show")
    args = parser.parse_args()
    model = load_model("copiste", threads=1, decoder=args.decoder)
    totals = {"found": Counts(), "given": Counts()}
    heights, lines = [], []
    for xml in sorted(args.folder.glob("*.xml")):
        image = image_beside(xml, None)
        reference = reference_page(xml, header_size(image))
        found, given = read_page(model, image), read_segmented_page(model, xml)
        scored = {"found": score_page(found, reference), "given": score_page(given, reference)}
        for way in totals:
            totals[way] = totals[way] + scored[way]["chars"]
        print(f"{xml.stem}: found {100 * scored['found']['chars'].rate:.2f} %, "
              f"given {100 * scored['given']['chars'].rate:.2f} % CER")
        given_lines = {line.id: line for line in given.lines}
        for line, j in zip(found.lines, match_lines(found, reference)):
            if j is not None and reference.lines[j].id in given_lines:
                box = given_lines[reference.lines[j].id].box
                heights.append((line.box[3] - line.box[1], box[3] - box[1]))
        lines += [(a["chars"].errors - b["chars"].errors, xml.stem, a, b)
                  for a, b in zip(scored["found"]["lines"], scored["given"]["lines"])]
    found_h, given_h = np.median(np.array(heights), axis=0)
    print(f"all pages: found {100 * totals['found'].rate:.2f} %, given {100 * totals['given'].rate:.2f} % CER "
          f"({totals['found'].reference_length} characters); line boxes {found_h:.0f} px high found, "
          f"{given_h:.0f} px given (median)")
    for gap, page, a, b in sorted(lines, key=lambda item: -item[0])[: args.worst]:
        print(f"{page} {a['id']}: {gap} more errors found | ref: {a['reference']} | found: {a['hypothesis']} "
              f"| given: {b['hypothesis']}")


if __name__ == "__main__":
    main()
