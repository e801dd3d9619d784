"""CPU speed of a checkpoint: real-time factor of features + model + greedy decoding.

    python export/benchmark.py [--model PATH] [--manifest M.jsonl] [--threads 1 2] [--batch 1 8]

Prints one row per (threads, batch): milliseconds per second of audio and RTFx
(audio seconds per wall second), medians over --repeats passes. The default audio
is the committed samples/*.wav; a manifest gives a bigger, more honest set.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from recognize import load_model
from recognize.manifest import read_manifest

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled speech model)")
    parser.add_argument("--manifest", help="JSON Lines manifest of the audio to time")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    files = [r["audio"] for r in read_manifest(args.manifest)] if args.manifest else sorted(
        str(p) for p in (ROOT / "samples").glob("*.wav"))
    recognizer = load_model(args.model)
    audio_seconds = sum(recognizer.features(f)[1] for f in files)
    print(f"{len(files)} files, {audio_seconds:.1f} s of audio, "
          f"{recognizer.model.num_parameters():,} parameters, torch {torch.__version__}")
    print(f"{'threads':>7} {'batch':>5} {'ms per audio s':>15} {'RTFx':>8}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batch:
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                for _path, _hyp, _secs in recognizer.transcribe_files(files, batch_size=batch):
                    pass
                times.append(time.perf_counter() - started)
            wall = statistics.median(times)
            print(f"{threads:7d} {batch:5d} {1000 * wall / audio_seconds:15.1f} {audio_seconds / wall:8.1f}")


if __name__ == "__main__":
    main()
