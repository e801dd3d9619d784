"""How a speech model reads input that holds several utterances: the WER of a manifest's
recordings joined back to back, K at a time, against each alone.

    python experiments/an4/joined.py [--manifest data/an4/dev.jsonl] [--model PATH] [--groups 1 2 6]

Models trained on single utterances read joined ones less well; the long-audio path
(which cuts at pauses, docs/reading.md, "Long recordings") meets such pieces whenever a pause
detector misses a boundary; a group longer than a minute is read by that path itself.
Greedy decoding, one thread.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from recognize.api import load_model
from recognize.evaluation.metrics import count_errors
from recognize.inputs.audio import load_audio
from recognize.inputs.manifest import read_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default="data/an4/dev.jsonl")
    parser.add_argument("--model", default=None, help="default: the bundled speech model")
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 2, 6])
    args = parser.parse_args()
    model = load_model(args.model, threads=1, decoder="greedy")
    rows = read_manifest(args.manifest)
    waves = [load_audio(r["audio"], model.cfg.features.sample_rate) for r in rows]
    reference = " ".join(r["text"] for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.groups:
            paths = []
            for start in range(0, len(waves), k):
                path = Path(tmp) / f"{k}-{start}.wav"
                sf.write(path, np.concatenate(waves[start : start + k]), model.cfg.features.sample_rate)
                paths.append(path)
            hypothesis = " ".join(h.text for _, h, _ in model.transcribe_files(paths))
            print(f"{k} at a time: {len(paths)} files, WER {100 * count_errors(reference, hypothesis).rate:.2f} %")


if __name__ == "__main__":
    main()
