"""Training-time augmentation: speed perturbation (on waveforms) and SpecAugment (on features)."""

from __future__ import annotations

import numpy as np
import torch

from .audio import resample
from .config import AugmentConfig


def speed_perturb(wave: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``(samples,)`` ``factor`` times faster (tempo and pitch, like ``sox speed``).

    Returns ``(round(samples / factor),)``: the samples are read as if recorded at
    ``sample_rate * factor`` and resampled back to ``sample_rate``.
    """
    if factor == 1.0:
        return wave
    return resample(wave, sample_rate * factor, sample_rate)


def spec_augment(
    features: torch.Tensor,
    lengths: torch.Tensor,
    cfg: AugmentConfig,
    fill: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """SpecAugment (Park et al. 2019) frequency and time masks, within each item's valid frames.

    features: ``(N, T, F)``; lengths: ``(N,)``; fill: ``(F,)`` value for masked cells
    (the normalization mean, so that masked cells become 0 after normalization).
    Returns a new ``(N, T, F)`` tensor; padding frames are left untouched.
    """
    out = features.clone()
    n, _, f = out.shape

    def rand_int(high: int) -> int:  # uniform in [0, high]
        return int(torch.randint(0, max(high, 0) + 1, (1,), generator=generator))

    for i in range(n):
        length = int(lengths[i])
        for _ in range(cfg.freq_masks):
            width = rand_int(min(cfg.freq_width, f))
            start = rand_int(f - width)
            out[i, :length, start : start + width] = fill[start : start + width]
        max_time = int(cfg.time_width * length)
        for _ in range(cfg.time_masks):
            width = rand_int(max_time)
            start = rand_int(length - width)
            out[i, start : start + width, :] = fill
    return out
