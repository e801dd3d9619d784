"""What comes before the recurrent encoder: normalization, and the frontends that turn
``(N, T, F)`` inputs into ``(N, T', dim)`` frames (conv subsampling or frame stacking for
speech, a CNN for line images). Padding never reaches a valid frame (see :mod:`.ctc`)."""

from __future__ import annotations

import torch
from torch import nn


def mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(N,)`` lengths -> ``(N, max_len)`` bool, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class Normalizer(nn.Module):
    """Global mean/variance normalization; the statistics are buffers, so they live in the checkpoint."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ConvSubsampling(nn.Module):
    """Two 3x3 convolutions over (time, frequency), each halving the frequency axis; the
    first halves the time axis, the second halves it again when ``subsample`` is 4.

    ``(N, T, F)`` -> ``(N, T', dim)`` with ``T' = ((T - 3) // 2 + 1 - 3) // s + 1``, ``s =
    subsample // 2``; needs T >= 7. No padding inside the convs, so output frame t sees
    only input frames up to 2 (s t + 2) + 2 — never padding, as long as t < T'.
    """

    def __init__(self, feats: int, channels: int, dim: int, subsample: int = 4):
        super().__init__()
        self.subsample = subsample
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=(subsample // 2, 2)), nn.ReLU(),
        )
        freq = ((feats - 3) // 2 + 1 - 3) // 2 + 1
        self.out = nn.Linear(channels * freq, dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        y = self.conv(x.unsqueeze(1))  # (N, C, T', F')
        n, c, t, f = y.shape
        y = self.out(y.permute(0, 2, 1, 3).reshape(n, t, c * f))  # (N, T', C*F') -> (N, T', dim)
        return y, ((lengths - 3) // 2 + 1 - 3) // (self.subsample // 2) + 1


class FrameStacking(nn.Module):
    """Concatenate ``k`` consecutive frames and project: ``(N, T, F)`` -> ``(N, ceil(T/k), dim)``."""

    def __init__(self, feats: int, k: int, dim: int):
        super().__init__()
        self.subsample = k
        self.out = nn.Linear(feats * k, dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        n, t, f = x.shape
        k = self.subsample
        x = nn.functional.pad(x, (0, 0, 0, (-t) % k))  # zero frames up to a multiple of k
        return self.out(x.reshape(n, -1, k * f)), (lengths + k - 1) // k


class CNNFrontend(nn.Module):
    """Puigcerver (2017)-style convolutional blocks for line images: each block is a 3x3
    convolution, batch norm, LeakyReLU and a max-pool that halves the height; the first
    log2(subsample) blocks also halve the width. The remaining height is folded into the
    features: ``(N, W, H)`` -> ``(N, W / subsample, dim)``.

    Columns past each line's width are zeroed after every block, so the next convolution
    sees the same zeros there as the line alone sees from its own zero padding.
    """

    def __init__(self, height: int, channels: list[int], subsample: int, dim: int):
        super().__init__()
        self.subsample = subsample
        width_pools = subsample.bit_length() - 1
        blocks, c_in = [], 1
        for i, c_out in enumerate(channels):
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.01),
                nn.MaxPool2d((2, 2) if i < width_pools else (2, 1)),
            ))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.width_pools = width_pools
        self.out = nn.Linear(c_in * (height >> len(channels)), dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        y = x.transpose(1, 2).unsqueeze(1)  # (N, W, H) -> (N, 1, H, W)
        for i, block in enumerate(self.blocks):
            y = block(y)
            if i < self.width_pools:
                lengths = lengths // 2
            y = y * mask(lengths, y.shape[-1])[:, None, None, :]
        n, c, h, w = y.shape
        return self.out(y.permute(0, 3, 1, 2).reshape(n, w, c * h)), lengths  # (N, W', C*H') -> (N, W', dim)
