"""Frontend -> stacked bidirectional recurrent encoder (LSTM by default, see
:mod:`.cells`) -> linear -> log-softmax (CTC, blank = 0); the frontends are in :mod:`.frontends`.

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

from ..config import ModelConfig
from .cells import encode, encode_split, make_encoder, output_size
from .frontends import CNNFrontend, ConvSubsampling, FrameStacking, Normalizer, mask


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
        x = self.normalizer(features) * mask(lengths, features.shape[1]).unsqueeze(-1)  # (N, T, F), padding = 0
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

