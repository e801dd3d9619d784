"""Frontend -> stacked bidirectional recurrent encoder (LSTM by default, see
:mod:`recognize.cells`) -> linear -> log-softmax (CTC, blank = 0).

Every tensor that enters has padding; every part is written so that padding never
reaches a valid output: padded frames are zeroed after normalization, the speech conv
frontend uses valid (unpadded) convolutions, the image CNN re-zeroes the columns past
each line after every block, and the recurrent encoder runs on packed sequences (or
masks padding itself). So a padded batch gives each item exactly what it gives alone
(in eval mode: batch norm then uses its running statistics).
"""

from __future__ import annotations

import torch
from torch import nn

from .cells import encode, encode_split, make_encoder, output_size
from .config import ModelConfig


def _mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
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
            y = y * _mask(lengths, y.shape[-1])[:, None, None, :]
        n, c, h, w = y.shape
        return self.out(y.permute(0, 3, 1, 2).reshape(n, w, c * h)), lengths  # (N, W', C*H') -> (N, W', dim)


class CTCModel(nn.Module):
    """features ``(N, T, F)`` float32 + lengths ``(N,)`` int64 ->
    log_probs ``(N, T', V)`` + out_lens ``(N,)`` int64.

    For speech F is the mel bands and T the frames; for handwriting F is the image
    height and T its width (the line image transposed, background 0).
    """

    def __init__(self, cfg: ModelConfig, feats: int, vocab: int):
        super().__init__()
        self.cfg = cfg
        self.normalizer = Normalizer(feats)
        if cfg.frontend == "conv":
            self.frontend = ConvSubsampling(feats, cfg.conv_channels, cfg.hidden, cfg.subsample)
        elif cfg.frontend == "cnn":
            self.frontend = CNNFrontend(feats, cfg.cnn_channels, cfg.subsample, cfg.hidden)
        else:
            self.frontend = FrameStacking(feats, cfg.subsample, cfg.hidden)
        self.encoder = make_encoder(cfg.cell, cfg.hidden, cfg.hidden, cfg.layers, cfg.dropout, cfg.proj)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(output_size(cfg.cell, cfg.hidden, cfg.proj), vocab)

    @property
    def subsample(self) -> int:
        return self.frontend.subsample

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, intermediate: int = 0):
        """With ``intermediate`` = k > 0 (intermediate CTC, in training), also a third value:
        the log-probs ``(N, T', V)`` the same head gives the output of encoder layer k."""
        min_frames = self.cfg.min_frames
        if features.shape[1] < min_frames:  # a very short clip: pad with (masked) frames
            features = nn.functional.pad(features, (0, 0, 0, min_frames - features.shape[1]))
        x = self.normalizer(features) * _mask(lengths, features.shape[1]).unsqueeze(-1)  # (N, T, F), padding = 0
        x, out_lens = self.frontend(x, lengths.clamp(min=min_frames))  # (N, T', H)
        if intermediate:
            mid, x = encode_split(self.encoder, x, out_lens, intermediate)
            return self.log_probs(x), out_lens.to(torch.int64), self.log_probs(mid)
        x = encode(self.encoder, x, out_lens)  # (N, max(out_lens), D)
        return self.log_probs(x), out_lens.to(torch.int64)

    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder output ``(N, T', D)`` -> log-probs ``(N, T', V)``, float32."""
        return self.head(self.dropout(x)).float().log_softmax(dim=-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

