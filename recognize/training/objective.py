"""What one training step optimizes: the CTC loss of a batch (with intermediate CTC and
SpecAugment), weight noise, the learning-rate schedule and the autocast dtype."""

from __future__ import annotations

import contextlib
import math
import sys

import torch
from torch.nn import functional as F

from ..config import Config
from ..errors import ConfigError
from .augment import spec_augment
from .data import ctc_fits
from .distill import distill_loss


def lr_lambda(warmup: int, total: int, final_ratio: float):
    """Linear warm-up to 1, then cosine decay to ``final_ratio`` at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``train.precision`` (None: float32, no autocast). ``auto``
    is bf16 on CUDA and float32 on the CPU, where bf16 is asked for: it pays only on CPUs
    with bf16 instructions (on others a warning says it will be slower)."""
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision: fp16 needs a CUDA device (the CPU trains in fp32 or bf16)")
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        print("warning: train.precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX), so bf16 "
              "runs emulated, likely slower than fp32", file=sys.stderr)
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 natively, as far as torch tells (x86: AVX512-BF16
    or AMX; other CPUs are given the benefit of the doubt)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def batch_loss(model, batch: dict, cfg: Config, device, dtype=None, teacher=None):
    """CTC loss of a batch (float32, summed over utterances, divided by their number; with
    ``train.inter_ctc`` = w, (1 - w) times it plus w times the intermediate layer's; with a
    ``teacher`` model and ``train.distill`` = d, (1 - d) times that plus d times
    :func:`recognize.training.distill.distill_loss` of the teacher's output for the input
    without SpecAugment's masks and, where the batch has them, ``clean_features``), the
    number of utterances in it, and ``{id: why}`` of those left out: their labels cannot fit
    their output frames (or are empty). SpecAugment masks are applied first when the config asks.
    A batch with nothing left gives a zero loss that still reaches every weight (DDP)."""
    feats, lengths = batch["features"].to(device), batch["lengths"].to(device)
    as_recorded = batch["clean_features"].to(device) if "clean_features" in batch else feats  # what a teacher reads
    if cfg.augment.freq_masks or cfg.augment.time_masks:
        mean = (model.module if hasattr(model, "module") else model).normalizer.mean
        feats = spec_augment(feats, lengths, cfg.augment, fill=mean)
    with autocast(device, dtype):
        outputs = model(feats, lengths, cfg.inter_ctc_at)  # (N, T', V), (N,) [, intermediate (N, T', V)]
    log_probs, out_lens = outputs[:2]
    labels, label_lens = batch["labels"], batch["label_lengths"]
    keep = [i for i in range(len(batch["ids"]))
            if label_lens[i] > 0 and ctc_fits(labels[i, : label_lens[i]], int(out_lens[i]))]
    unfit = {batch["ids"][i]: f"{int(label_lens[i])} labels, {int(out_lens[i])} frames"
             for i in range(len(batch["ids"])) if i not in keep}
    if not keep:
        return log_probs.float().sum() * 0.0, 0, unfit
    idx = torch.tensor(keep)

    def ctc(log_probs):
        return F.ctc_loss(
            log_probs[idx.to(device)].float().transpose(0, 1),  # (T', N, V) as ctc_loss wants
            labels[idx].to(device), out_lens[idx.to(device)], label_lens[idx].to(device),
            blank=0, reduction="sum", zero_infinity=True,
        )

    loss = ctc(log_probs)
    if cfg.inter_ctc_at:  # Lee & Watanabe 2021: the lower layers learn to read on their own too
        loss = (1 - cfg.train.inter_ctc) * loss + cfg.train.inter_ctc * ctc(outputs[2])
    if teacher is not None:
        with torch.no_grad(), autocast(device, dtype):
            shown = teacher(as_recorded, lengths)[0]  # (N, T', V)
        on = idx.to(device)
        kl = distill_loss(log_probs[on], shown[on], out_lens[on])
        loss = (1 - cfg.train.distill) * loss + cfg.train.distill * kl
    return loss / len(keep), len(keep), unfit


@contextlib.contextmanager
def weight_noise(model: torch.nn.Module, std: float):
    """Weight noise (Graves et al. 2013): Gaussian noise of ``std`` on every weight
    matrix (and conv kernel) for one batch's forward and backward pass; leaving the
    block removes it, so the update applies to the clean weights."""
    clean = []
    if std:
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() >= 2 and p.requires_grad:
                    clean.append((p, p.detach().clone()))  # restored exactly, not by subtracting the noise
                    p.add_(torch.randn_like(p) * std)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, weights in clean:
                p.copy_(weights)


def mean_loss(sums: list[tuple]) -> float | None:
    """The epoch's training loss per utterance from each process's ``(loss sum, utterances, ...)``;
    None when no batch counted (all skipped: non-finite, or fp16 gradients that overflowed
    while the gradient scaler was still finding its scale), rather than a loss of 0."""
    utts = sum(s[1] for s in sums)
    return round(sum(s[0] for s in sums) / utts, 4) if utts else None
