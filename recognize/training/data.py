"""The speech and line-image datasets, length-bucketed batches and padding (training).

Rows come from :mod:`recognize.manifest`.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import AugmentConfig, Config, FeatureConfig, ImageConfig
from ..inputs.audio import load_audio, log_mel
from ..inputs.text import Alphabet
from .augment import other_channel, speed_perturb
from .distill import taught


def speech_item(row: dict, alphabet: Alphabet, features: FeatureConfig, speed: float = 1.0,
                content: bytes | None = None, then: dict | None = None, then_content: bytes | None = None,
                warp: float = 1.0, channel_rng: np.random.Generator | None = None, clean: bool = False) -> dict:
    """``{"id", "features": (T, F) float32, "labels": (L,) int64, "text"}`` of one row, its
    audio played ``speed`` times faster (``content``: the audio file's bytes, if read
    already). ``then``: another row whose audio (``then_content``) follows this one's, and
    its text after a space (``augment.join``). ``warp``: the mel filterbank's VTLP factor
    (``augment.vtlp``). ``channel_rng``: draws another channel for the audio
    (``augment.channel``). ``clean``: also ``"clean_features"`` (T, F), the same frames
    before the channel's effects but its silence (what a ``train.teacher`` reads)."""
    wave = load_audio(row["audio"], features.sample_rate, content)
    text, name = row.get("text", ""), row["id"]
    if then is not None:
        wave = np.concatenate([wave, load_audio(then["audio"], features.sample_rate, then_content)])
        text, name = f"{text} {then.get('text', '')}".strip(), f"{name}+{then['id']}"
    if speed != 1.0:
        wave = speed_perturb(wave, speed, features.sample_rate)
    before = wave
    if channel_rng is not None:
        wave, before = other_channel(wave, features.sample_rate, channel_rng)
    item = {
        "id": name,
        "features": torch.from_numpy(log_mel(wave, features, warp)),
        "labels": torch.tensor(alphabet.encode(text), dtype=torch.int64),
        "text": text,
    }
    if clean:  # the same tensor when no channel was drawn
        same = before is wave
        item["clean_features"] = item["features"] if same else torch.from_numpy(log_mel(before, features, warp))
    return item


def line_item(row: dict, alphabet: Alphabet, image: ImageConfig, distort_rng=None,
              content: bytes | None = None) -> dict:
    """``{"id", "features": (W, H) float32 (the line image transposed, background 0),
    "labels", "text"}`` of one row, distorted when ``distort_rng`` is given."""
    from ..inputs.image import load_image
    from .augment import distort_image

    pixels = load_image(row["image"], image.height, content=content, stretch=image.stretch, level=image.level)  # (H, W)
    if distort_rng is not None:
        pixels = distort_image(pixels, distort_rng)
    text = row.get("text", "")
    return {
        "id": row["id"],
        "features": torch.from_numpy(np.ascontiguousarray(pixels.T, dtype=np.float32)),
        "labels": torch.tensor(alphabet.encode(text), dtype=torch.int64),
        "text": text,
    }


def draw_augmentation(rng: np.random.Generator, a: AugmentConfig, partners: int):
    """``(speed, partner index or None, warp, channel rng or None)`` of one utterance,
    ``partners`` being how many it may be joined with. Drawn in this order, each only when
    its setting is on, so that a run of an older config replays exactly; the channel's
    effects are drawn from ``rng`` last."""
    speed = float(rng.choice(a.speed_factors)) if a.speed_factors else 1.0
    partner = int(rng.integers(partners)) if a.join and partners and rng.random() < a.join else None
    warp = 1.0 + rng.uniform(-a.vtlp, a.vtlp) if a.vtlp else 1.0
    channel = rng if a.channel and rng.random() < a.channel else None
    return speed, partner, warp, channel


class SpeechDataset(torch.utils.data.Dataset):
    """:func:`speech_item` of each row, with the training ``augment``ation when given: each
    item played at one of its speed factors, with probability ``join`` followed by another
    row, its mel frequencies warped by a factor in [1 - vtlp, 1 + vtlp], and with
    probability ``channel`` carried by another channel, all drawn from a generator seeded
    by (seed, epoch, index): reproducible whatever the worker layout. Joined items teach a
    model trained on single utterances to read on past the end of one, as it must in long
    recordings; they are longer than the batch budget counts them."""

    def __init__(self, rows, alphabet: Alphabet, features: FeatureConfig, augment: AugmentConfig | None = None,
                 seed: int = 0, clean: bool = False):
        self.rows, self.alphabet, self.features = rows, alphabet, features
        self.augment = augment or AugmentConfig(speed_factors=[])
        self.seed, self.epoch, self.clean = seed, 0, clean

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        speed, partner, warp, channel = draw_augmentation(rng, self.augment, len(self.rows))
        then = self.rows[partner] if partner is not None else None
        return speech_item(self.rows[index], self.alphabet, self.features, speed, then=then, warp=warp,
                           channel_rng=channel, clean=self.clean)


class LineImageDataset(torch.utils.data.Dataset):
    """:func:`line_item` of each row; with ``distort`` > 0 each line is distorted with that
    probability, from a generator seeded by (seed, epoch, index)."""

    def __init__(self, rows, alphabet: Alphabet, image: ImageConfig, distort: float = 0.0, seed: int = 0):
        self.rows, self.alphabet, self.image = rows, alphabet, image
        self.distort, self.seed, self.epoch = distort, seed, 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        rng = None
        if self.distort:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            rng = rng if rng.random() < self.distort else None
        return line_item(self.rows[index], self.alphabet, self.image, rng)


def stream_item_maker(alphabet: Alphabet, cfg: Config):
    """``make(row, content, epoch, batch) -> item`` for :class:`~recognize.shards.ShardStream`,
    with the training augmentation of ``cfg`` drawn from (seed, epoch, the row's id). A
    joined utterance (``augment.join``) is followed by one of its batch, ``[(row, content)]``:
    a stream has no other at hand."""
    import zlib

    def make(row: dict, content: bytes, epoch: int, batch=()) -> dict:
        rng = np.random.default_rng([cfg.train.seed, epoch, zlib.crc32(row["id"].encode())])
        if cfg.kind == "speech":
            speed, partner, warp, channel = draw_augmentation(rng, cfg.augment, len(batch))
            then, then_content = batch[partner] if partner is not None else (None, None)
            return speech_item(row, alphabet, cfg.features, speed, content, then, then_content, warp, channel,
                               clean=taught(cfg))
        distort = cfg.augment.distort and rng.random() < cfg.augment.distort
        return line_item(row, alphabet, cfg.image, rng if distort else None, content)

    return make


def make_dataset(rows, alphabet: Alphabet, cfg: Config, train: bool):
    """The dataset for ``cfg.kind``, with training augmentation when ``train`` (and the
    speech's clean copies when a teacher takes part)."""
    if cfg.kind == "speech":
        return SpeechDataset(rows, alphabet, cfg.features, cfg.augment if train else None, cfg.train.seed,
                             clean=train and taught(cfg))
    return LineImageDataset(rows, alphabet, cfg.image, cfg.augment.distort if train else 0.0, cfg.train.seed)


def collate(items: list[dict]) -> dict:
    """Pad a list of items into ``features (N, T, F)``, ``lengths (N,)``, ``labels (N, L)``
    (padded with 0), ``label_lengths (N,)``, plus ``ids`` and ``texts`` (and
    ``clean_features (N, T, F)`` when the items have them)."""
    lengths = torch.tensor([len(it["features"]) for it in items], dtype=torch.int64)
    label_lengths = torch.tensor([len(it["labels"]) for it in items], dtype=torch.int64)
    batch = {
        "features": torch.nn.utils.rnn.pad_sequence([it["features"] for it in items], batch_first=True),
        "lengths": lengths,
        "labels": torch.nn.utils.rnn.pad_sequence([it["labels"] for it in items], batch_first=True),
        "label_lengths": label_lengths,
        "ids": [it["id"] for it in items],
        "texts": [it["text"] for it in items],
    }
    if all("clean_features" in it for it in items):
        batch["clean_features"] = torch.nn.utils.rnn.pad_sequence([it["clean_features"] for it in items],
                                                                  batch_first=True)
    return batch


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of similar-length items, at most ``budget`` of padded length each (length in
    the unit of ``lengths``: seconds of audio, or pixels of line width).

    Each epoch the lengths are jittered by +-10 % before sorting (so batches differ
    between epochs) and the batch order is shuffled, both from (seed, epoch) alone.
    Under torchrun every rank builds the same list and takes every ``world``-th batch
    from ``rank`` on, cut to the same count on every rank (DDP steps in lockstep), so
    buckets stay intact. ``start`` skips the first batches of this rank's epoch (a run
    resumed in mid-epoch).
    """

    def __init__(self, lengths, budget: float, max_batch_size: int, shuffle: bool, seed: int = 0,
                 rank: int = 0, world: int = 1):
        self.lengths = np.asarray(lengths, dtype=np.float64)
        self.budget, self.max_batch_size = budget, max_batch_size
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.rank, self.world, self.start = rank, world, 0

    def all_batches(self) -> list[list[int]]:
        """Every rank's batches of this epoch, in order."""
        rng = np.random.default_rng([self.seed, self.epoch])
        keys = self.lengths * (rng.uniform(0.9, 1.1, len(self.lengths)) if self.shuffle else 1.0)
        batches, current, longest = [], [], 0.0
        for i in np.argsort(keys, kind="stable"):
            longest_if_added = max(longest, self.lengths[i])
            if current and (longest_if_added * (len(current) + 1) > self.budget
                            or len(current) >= self.max_batch_size):
                batches.append(current)
                current, longest_if_added = [], self.lengths[i]
            current.append(int(i))
            longest = longest_if_added
        if current:
            batches.append(current)
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def batches(self) -> list[list[int]]:
        """This rank's batches of this epoch (all of them when run alone)."""
        batches = self.all_batches()
        if self.world == 1:
            return batches
        return batches[self.rank :: self.world][: len(batches) // self.world]

    def __iter__(self):
        return iter(self.batches()[self.start :])

    def __len__(self) -> int:
        return len(self.batches()) - self.start


def loader(dataset, lengths, budget, max_batch_size, shuffle, seed=0, num_workers=0, rank=0, world=1):
    """A DataLoader over length-bucketed batches (see :class:`BucketBatchSampler`). It has
    its own random generator, so iterating it never draws from torch's global one (which
    a resumed run restores exactly)."""
    sampler = BucketBatchSampler(lengths, budget, max_batch_size, shuffle, seed, rank, world)
    return torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers,
        persistent_workers=False, generator=torch.Generator().manual_seed(seed),
    )


def ctc_fits(labels: list[int] | torch.Tensor, frames: int) -> bool:
    """Whether CTC can align ``labels`` to ``frames`` outputs: each repeat needs a blank between."""
    labels = list(map(int, labels))
    repeats = sum(1 for a, b in zip(labels, labels[1:]) if a == b)
    return frames >= len(labels) + repeats

