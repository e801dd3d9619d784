"""Where speech and steady noise fall on the loudness range the speech recognizer gates on.

    python experiments/an4/loudness_range.py data/an4/dev.jsonl data/an4/dev-white10.jsonl ...

For each manifest, the smallest, median and largest loudness range of its recordings
(:func:`recognize.inputs.audio.loudness_range_db`: the 99th minus the 1st percentile of
the frames' power in the speech band, dB); then the same for synthetic white, pink and
brown noise of 0.3 to 10 s at three levels, and digital silence. A recording below
``STEADY_RANGE_DB`` reads as no words.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from recognize.errors import RecognizeWarning
from recognize.inputs.audio import STEADY_RANGE_DB, finite_log_mel, load_audio, loudness_range_db
from recognize.inputs.manifest import media_path, read_manifest
from recognize.kinds import kind_named
from recognize.models import BUNDLED
from recognize.runtime.loading import load_model
from recognize.training.augment import NOISE_EXPONENTS, coloured_noise


def row(name: str, ranges: list[float]) -> str:
    below = sum(r < STEADY_RANGE_DB for r in ranges)
    return (f"| {name} | {len(ranges)} | {min(ranges):.1f} | {float(np.median(ranges)):.1f} | {max(ranges):.1f} | "
            f"{below} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifests", nargs="*", help="speech manifests (JSON Lines)")
    parser.add_argument("--model", default="an4", help="the bundled model whose features are used")
    args = parser.parse_args()
    warnings.simplefilter("ignore", RecognizeWarning)  # the 8 kHz copies' low-rate warning, once per file
    cfg = load_model(args.model, kind_named(BUNDLED[args.model]), threads=1).cfg.features
    print(f"| recordings | n | smallest range, dB | median | largest | below {STEADY_RANGE_DB:g} dB (read as no words) |")
    print("|---|---|---|---|---|---|")
    for manifest in args.manifests:
        ranges = [loudness_range_db(finite_log_mel(load_audio(media_path(r), cfg.sample_rate), cfg), cfg)
                  for r in read_manifest(manifest)]
        print(row(manifest, ranges))
    rng = np.random.default_rng(0)
    for colour in NOISE_EXPONENTS:
        ranges = [loudness_range_db(finite_log_mel((coloured_noise(int(seconds * cfg.sample_rate), colour, rng)
                                                    * level).astype(np.float32), cfg), cfg)
                  for seconds in (0.3, 1, 3, 10) for level in (1e-4, 0.01, 0.3)]
        print(row(f"{colour} noise, 0.3-10 s, RMS 1e-4 to 0.3", ranges))
    silence = np.zeros(cfg.sample_rate, np.float32)
    print(row("digital silence, 1 s", [loudness_range_db(finite_log_mel(silence, cfg), cfg)]))


if __name__ == "__main__":
    main()
