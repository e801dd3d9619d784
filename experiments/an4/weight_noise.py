"""How much weight noise a speech model tolerates: its greedy dev WER with Gaussian
noise of each standard deviation on its weight matrices (what ``train.weight_noise``
adds for each batch), beside the spread of the weights themselves.

    python experiments/an4/weight_noise.py [--manifest data/an4/dev.jsonl] [--model PATH] [--std 0 0.02 0.04 0.075]

One fixed noise draw per level (seed 0); a checkpoint (.pt) is needed, one thread.
"""

from __future__ import annotations

import argparse

import torch

from recognize.evaluation.evaluate import evaluate_manifest
from recognize.runtime.torch_backend import TorchRecognizer
from recognize.training.objective import weight_noise

BUNDLED = "recognize/models/an4/model.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default="data/an4/dev.jsonl")
    parser.add_argument("--model", default=BUNDLED, help=f"a speech checkpoint (default: {BUNDLED})")
    parser.add_argument("--std", type=float, nargs="+", default=[0.0, 0.02, 0.04, 0.075])
    args = parser.parse_args()
    recognizer = TorchRecognizer.load(args.model, device="cpu", threads=1, decoder="greedy")
    model = recognizer.model
    spread = torch.cat([p.detach().flatten() for p in model.parameters() if p.dim() >= 2]).std()
    print(f"{args.model}: weight matrices' standard deviation {spread:.3f}")
    for std in args.std:
        torch.manual_seed(0)
        with weight_noise(model, std):
            summary = evaluate_manifest(recognizer, args.manifest)["summary"]
        print(f"noise {std:g}: dev WER {100 * summary['wer']:.2f} %, CER {100 * summary['cer']:.2f} %")


if __name__ == "__main__":
    main()
