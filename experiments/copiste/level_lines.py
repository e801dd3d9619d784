"""Does the bundled handwriting model read line images better levelled first?

    python experiments/copiste/level_lines.py --manifest data/copiste/val.jsonl [--decoder greedy|auto]

Each line image is read as it is, and levelled (:func:`recognize.inputs.level.level_line`:
a straight baseline fitted under its ink and the image turned so that it lies level when
it slopes by more than a degree, as the page reader does with each line it cuts),
whatever the model's own ``image.level``. Prints the corpus CER and WER of both on the
manifest, and the CPU time levelling takes a line (``level_line`` alone, best of 3 passes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from recognize import load_model
from recognize.evaluation.metrics import corpus_errors
from recognize.inputs.image import normalize_line, open_image, to_gray
from recognize.inputs.level import level_line
from recognize.inputs.manifest import read_manifest


def model_input(path: str, image_cfg, level: bool) -> np.ndarray:
    """A line image -> the ``(W, height)`` input the model reads, levelled or not."""
    ink, _ = normalize_line(to_gray(open_image(path)), image_cfg.height, stretch=image_cfg.stretch, level=level)
    return np.ascontiguousarray(ink.T)


def levelling_ms(rows: list[dict]) -> float:
    """CPU milliseconds a line that :func:`level_line` takes on the rows' images, best of 3 passes."""
    grays = [to_gray(open_image(row["image"])) for row in rows]
    passes = []
    for _ in range(3):
        start = time.process_time()
        for gray in grays:
            level_line(gray)
        passes.append(time.process_time() - start)
    return 1000 * min(passes) / len(grays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--model", default="copiste")
    parser.add_argument("--decoder", default="greedy", choices=("greedy", "auto"))
    args = parser.parse_args()
    model = load_model(args.model, threads=1, decoder=args.decoder)
    rows = read_manifest(args.manifest)
    for level in (False, True):
        inputs = [model_input(row["image"], model.cfg.image, level) for row in rows]
        texts = [""] * len(inputs)
        for indices, log_probs, out_lens in model.batches(inputs, 16):
            for i, hyp in zip(indices, model.decode(log_probs, out_lens, model.alphabet, [model.frame_unit] * len(indices))):
                texts[i] = hyp.text
        errors = corpus_errors([row["text"] for row in rows], texts)
        print(f"{'levelled' if level else 'as they are'}, {args.decoder}: CER {100 * errors['cer']:.2f} %, "
              f"WER {100 * errors['wer']:.2f} % ({len(rows)} lines)")
    print(f"levelling: {levelling_ms(rows):.2f} ms a line (CPU time)")


if __name__ == "__main__":
    main()
