"""The adding problem (Hochreiter & Schmidhuber 1997): a long-time-lag task on which the
plain RNN's vanishing gradients show and the gated cells do not.

Each sequence has T steps of two inputs: a value drawn from U(0, 1) and a marker, 1 at
exactly two steps (one in each half), 0 elsewhere. The target is the sum of the two
marked values, read from the encoder's output at the last step. Always answering 1
gives a mean squared error of 1/6 ~ 0.167; a model that solves the task goes below 0.01.

Every cell is the encoder `recognize` trains (recognize.cells.make_encoder: one
bidirectional layer; only its forward direction can carry the first marker to the last
step), trained with the same budget, seed and optimizer. Printed per cell: parameters,
test MSE, whether it solved the task, training and inference speed, and the gradient
norm of the loss with respect to the input at the first step relative to the last one,
at initialization and after training (log10: very negative means the gradient vanished).

    python experiments/cells/adding.py --length 100 --steps 2000 --json runs/adding.json
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from torch import nn

from recognize.config import CELLS
from recognize.model.cells import encode, make_encoder, output_size


def adding_batch(n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, length, 2)`` inputs and ``(n,)`` targets."""
    values = torch.rand(n, length, generator=generator)
    first = torch.randint(0, length // 2, (n,), generator=generator)
    second = torch.randint(length // 2, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    markers[torch.arange(n), first] = 1.0
    markers[torch.arange(n), second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(1)


class Adder(nn.Module):
    def __init__(self, cell: str, hidden: int):
        super().__init__()
        proj = hidden // 2 if cell == "lstmp" else 0
        self.encoder = make_encoder(cell, 2, hidden, 1, 0.0, proj)
        self.out = nn.Linear(output_size(cell, hidden, proj), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)
        return self.out(encode(self.encoder, x, lengths)[:, -1]).squeeze(-1)


def gradient_ratio(model: Adder, x: torch.Tensor, y: torch.Tensor) -> float:
    """log10 of |d loss / d x_0| over |d loss / d x_T-1| (mean over the batch)."""
    x = x.clone().requires_grad_(True)
    nn.functional.mse_loss(model(x), y).backward()
    norms = x.grad.norm(dim=-1).mean(0)  # (T,)
    model.zero_grad()
    return math.log10(float(norms[0]) + 1e-30) - math.log10(float(norms[-1]) + 1e-30)


def run(cell: str, length: int, hidden: int, steps: int, batch: int, seed: int) -> dict:
    torch.manual_seed(seed)
    model = Adder(cell, hidden)
    data, test = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    x_test, y_test = adding_batch(1000, length, test)
    grad_init = gradient_ratio(model, *adding_batch(batch, length, data))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for _ in range(steps):
        x, y = adding_batch(batch, length, data)
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    train_seconds = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        started = time.perf_counter()
        mse = float(nn.functional.mse_loss(model(x_test), y_test))
        infer_seconds = time.perf_counter() - started
    model.train()
    return {
        "cell": cell, "parameters": sum(p.numel() for p in model.encoder.parameters()), "test_mse": round(mse, 4),
        "solved": mse < 0.01, "train_steps_per_second": round(steps / train_seconds, 1),
        "inference_sequences_per_second": round(1000 / infer_seconds),
        "grad_log10_first_over_last_init": round(grad_init, 1),
        "grad_log10_first_over_last_trained": round(gradient_ratio(model, x_test[:batch], y_test[:batch]), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--length", type=int, default=100, help="time steps per sequence")
    parser.add_argument("--hidden", type=int, default=64, help="units per direction")
    parser.add_argument("--steps", type=int, default=2000, help="training steps (same for every cell)")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    print(f"adding problem, T = {args.length}, {args.steps} steps of {args.batch}, hidden {args.hidden}, "
          f"{args.threads} thread(s); always answering 1 scores MSE 0.167\n")
    print("| cell | parameters | test MSE | solved | train steps/s | inference seq/s | "
          "log10 grad x_0/x_T, init | trained |")
    print("|---|---:|---:|:-:|---:|---:|---:|---:|")
    for cell in args.cells:
        r = run(cell, args.length, args.hidden, args.steps, args.batch, args.seed)
        rows.append(r)
        print(f"| {cell} | {r['parameters']:,} | {r['test_mse']:.4f} | {'yes' if r['solved'] else 'no'} | "
              f"{r['train_steps_per_second']} | {r['inference_sequences_per_second']} | "
              f"{r['grad_log10_first_over_last_init']} | {r['grad_log10_first_over_last_trained']} |", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
