"""How much faster does a training step run on this CPU in bf16 (``train.precision=bf16``)?

    python experiments/cpu_bf16.py --repeats 5

For each config's model (AN4's as a BiLSTM and as its BiGRU, Copiste's), one training
step on a random batch of that model's input (forward, CTC loss, backward) in float32
and under bf16 autocast, alternated, on one thread; prints the median CPU time of each
and their ratio, and the CPU. Only CPUs with bf16 instructions (x86: AVX512-BF16 or AMX)
gain; elsewhere bf16 is emulated. Speed only: what bf16 does to accuracy is measured by
training runs (``docs/training.md``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch.nn import functional as F

from recognize.config import load_config
from recognize.model.ctc import CTCModel
from recognize.training.objective import cpu_has_bf16

# (config, overrides, batch shape (N, T, F), alphabet size): AN4's batches hold about 16
# utterances of 4 s (400 frames); Copiste's 8 lines 1200 px wide
MODELS = [("configs/an4.yaml", ["model.cell=lstm"], (16, 400, 80), 30),
          ("configs/an4.yaml", [], (16, 400, 80), 30),
          ("configs/copiste.yaml", [], (8, 1200, 64), 138)]


def step_seconds(model: CTCModel, batch: torch.Tensor, lengths: torch.Tensor, dtype) -> float:
    """CPU seconds of one forward + CTC + backward pass, autocast to ``dtype`` (None: fp32)."""
    targets = torch.randint(1, model.head.out_features, (len(batch), 20))
    started = time.process_time()
    with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
        log_probs, out_lens = model(batch, lengths)
    loss = F.ctc_loss(log_probs.float().transpose(0, 1), targets, out_lens, torch.full((len(batch),), 20),
                      zero_infinity=True)
    model.zero_grad()
    loss.backward()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="", metavar="TEXT", help="only the configs whose path holds TEXT")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"bf16 instructions: {'yes' if cpu_has_bf16() else 'no'}")
    for config, overrides, shape, vocab in (m for m in MODELS if args.only in m[0]):
        cfg = load_config(config, overrides)
        model = CTCModel(cfg.model, shape[2], vocab).train()
        batch, lengths = torch.randn(*shape), torch.full((shape[0],), shape[1])
        lengths[1::2] = shape[1] * 3 // 4  # a padded batch, as training gives
        times = {None: [], torch.bfloat16: []}
        for repeat in range(args.repeats + 1):  # the first of each warms up
            for dtype in times:
                seconds = step_seconds(model, batch, lengths, dtype)
                if repeat:
                    times[dtype].append(seconds)
        fp32, bf16 = (statistics.median(times[d]) for d in times)
        print(f"{config} {' '.join(overrides) or '(as it is)'}: fp32 {fp32:.2f} s, bf16 {bf16:.2f} s a step: "
              f"{fp32 / bf16:.2f}x")


if __name__ == "__main__":
    main()
