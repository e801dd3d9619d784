"""How fast would a handwriting model of another shape read? Each shape is built untrained
(a forward pass costs the same whatever the weights) from the bundled checkpoint's
settings and alphabet with ``--set``-style changes, saved under ``--out``, and the
command to time them all beside the bundled model in one run is printed:

    python experiments/copiste/shapes_speed.py --out /tmp/shapes \\
        "model.cnn_channels=[8,16,32,48,64]" "model.hidden=128" \\
        "model.cnn_channels=[8,16,32,48,64] model.hidden=128"

(each argument one shape: its changes separated by spaces, none inside a value).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import torch

from recognize.config import apply_overrides, validate
from recognize.model.checkpoint import load_checkpoint, save_checkpoint
from recognize.model.ctc import CTCModel
from recognize.models import bundled

BUNDLED = bundled("copiste", "model.pt")


def untrained(shape: str, out: Path) -> Path:
    """An untrained checkpoint of the bundled model changed by ``shape`` (``key=value ...``)."""
    _, cfg, alphabet = load_checkpoint(BUNDLED)
    cfg = validate(apply_overrides(cfg, shlex.split(shape)))
    torch.manual_seed(0)
    model = CTCModel(cfg.model, cfg.input_dim, len(alphabet)).eval()
    name = "_".join(shape.replace("model.", "").split()).translate(str.maketrans(",", "-", "[] "))
    path = out / f"{name}.pt"
    save_checkpoint(path, model, cfg, alphabet)
    print(f"{path}: {model.num_parameters():,} parameters")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shapes", nargs="+", help="one shape's changes, as 'model.hidden=128 model.layers=2'")
    parser.add_argument("--out", type=Path, required=True, help="folder for the untrained checkpoints")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [untrained(shape, args.out) for shape in args.shapes]
    print("time them with:\n  python export/benchmark.py --threads 1 --batch 1 --lines 100 --checkpoint",
          BUNDLED, *paths)


if __name__ == "__main__":
    main()
