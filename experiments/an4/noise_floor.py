"""Does subtracting each recording's noise floor, when reading, help the bundled speech model in noise?

    python experiments/an4/noise_floor.py --manifests data/an4/dev.jsonl data/an4/dev-white20.jsonl \
        --factors 0 0.5 1 2

Spectral subtraction in the mel domain: each band's noise floor is its 10th percentile
of power over the recording; ``factor`` times it is taken off every frame, leaving at
least a tenth of the frame's power (factor 0: the features as they are). The model reads
the result greedily; prints WER and CER per factor and manifest. The model never saw
such features in training: this measures what reading alone can do.
"""

from __future__ import annotations

import argparse

import numpy as np

from recognize.evaluation.metrics import corpus_errors
from recognize.inputs.manifest import media_path, read_manifest
from recognize.runtime.loading import load_model

FLOOR_PERCENTILE = 10
KEEP = 0.1  # the least share of a frame's power left after subtraction


def subtract_noise_floor(log_mel: np.ndarray, factor: float) -> np.ndarray:
    """``(T, n_mels)`` log-mel -> the same with ``factor`` times each band's noise floor
    taken off its power (at least :data:`KEEP` of it left)."""
    if factor == 0:
        return log_mel
    power = np.exp(log_mel.astype(np.float64))
    floor = np.percentile(power, FLOOR_PERCENTILE, axis=0)
    return np.log(np.maximum(power - factor * floor, KEEP * power)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifests", nargs="+", required=True)
    parser.add_argument("--factors", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--model", default="an4")
    args = parser.parse_args()
    recognizer = load_model(args.model, None, threads=1, decoder="greedy")
    for manifest in args.manifests:
        rows = read_manifest(manifest)
        feats = [recognizer.features(media_path(row))[0] for row in rows]
        for factor in args.factors:
            # batched as `recognize evaluate` batches (int8 activations are scaled per batch)
            log_probs = recognizer.log_probs([subtract_noise_floor(f, factor) for f in feats])
            texts = [recognizer.decode(lp[None], np.array([len(lp)]), recognizer.alphabet, recognizer.frame_unit)[0].text
                     for lp in log_probs]
            errors = corpus_errors([row["text"] for row in rows], texts)
            print(f"factor {factor:g}, {manifest}: WER {100 * errors['wer']:.2f} %, CER {100 * errors['cer']:.2f} %")


if __name__ == "__main__":
    main()
