"""The speech model's input normalization: per-bin mean and standard deviation of the
training features, measured once before training (and then stored in the checkpoint)."""

from __future__ import annotations

import numpy as np
import torch

from .. import distributed
from ..config import Config
from ..inputs.text import Alphabet
from .data import make_dataset, speech_item
from .shards import read_shard


def feature_stats(features, proc: distributed.Process) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and standard deviation ``(F,)`` of ``(T, F)`` feature tensors (this
    process's share; the sums of every process are added up)."""
    total, total_sq, frames = torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64), 0
    for f in features:
        f = f.double()
        total, total_sq, frames = total + f.sum(0), total_sq + (f**2).sum(0), frames + len(f)
    sums = distributed.gather((total, total_sq, frames), proc)
    total, total_sq, frames = (sum(s[k] for s in sums) for k in range(3))
    mean = total / frames
    std = (total_sq / frames - mean**2).clamp(min=1e-8).sqrt()
    return mean.float(), std.float()


def stats_features(cfg: Config, alphabet: Alphabet, n: int, proc: distributed.Process, rows=None,
                   index: dict | None = None):
    """This process's share of the features of ``n`` training utterances, without augmentation:
    a random sample of the manifest ``rows``, or the first ``n`` items of the shards of ``index``."""
    if rows is not None:
        sample = sorted(np.random.default_rng(cfg.train.seed).permutation(len(rows))[:n])
        dataset = make_dataset(rows, alphabet, cfg, train=False)
        return (dataset[int(i)]["features"] for i in distributed.shard(sample, proc))
    pairs = (pair for shard in index["shards"] for pair in read_shard(shard["url"]))
    return (speech_item(row, alphabet, cfg.features, content=content)["features"]
            for i, (row, content) in zip(range(n), pairs) if i % proc.world == proc.rank)
