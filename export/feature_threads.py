"""Feature extraction in several processes at once, each with a BLAS thread pool of a
given size: what DataLoader workers of trainings side by side do.

    python export/feature_threads.py data/an4/train.jsonl [--processes 4] [--blas-threads 16] [--files 60]

Prints each process's seconds for ``--files`` recordings (``log_mel`` as training
computes it, `configs/an4.yaml`'s features). Measured in recipes/an4/README.md ("On a GPU").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from recognize.config import load_config
from recognize.errors import RecognizeError
from recognize.inputs.audio import load_audio, log_mel
from recognize.inputs.manifest import read_manifest

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "an4.yaml"


def extract(manifest: str, files: int) -> float:
    """Seconds to compute the first ``files`` recordings' log-mel features, in this process."""
    features = load_config(CONFIG).features
    rows = read_manifest(manifest)[:files]
    start = time.perf_counter()
    for row in rows:
        log_mel(load_audio(row["audio"], features.sample_rate), features)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--blas-threads", type=int, default=16, help="OPENBLAS_NUM_THREADS of each process")
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        if args.worker:
            print(f"{extract(args.manifest, args.files):.2f}")
            return
        read_manifest(args.manifest)  # a bad manifest: one line here, not one per process
    except RecognizeError as e:
        sys.exit(f"error: {e}")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(args.blas_threads), "OMP_NUM_THREADS": str(args.blas_threads)}
    command = [sys.executable, __file__, args.manifest, "--files", str(args.files), "--worker"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(args.processes)]
    seconds = [p.communicate()[0].strip() for p in procs]
    if any(p.returncode for p in procs):
        sys.exit("error: a feature process failed (its message is above)")
    print(f"{args.processes} processes x {args.blas_threads} BLAS threads, {args.files} files each: "
          f"{' '.join(seconds)} s")


if __name__ == "__main__":
    main()
