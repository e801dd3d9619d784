"""Sharded tar archives (the WebDataset layout) to stream a corpus that does not fit on
local disk, from a folder or over HTTP.

``recognize shard MANIFEST --out DIR`` writes::

    DIR/shard-000000.tar   members 000000000.json (the row) + 000000000.flac (the file's bytes), ...
    DIR/shards.json        {"kind", "shards": [{"name", "items"}], "lengths": [...], "characters": "..."}

Members of one item share a key (the name before the first dot) and sit side by side,
as WebDataset and its tools (``tarp``, ``webdataset.TarWriter``) expect. ``shards.json``
holds every item's length (seconds or pixels), so that the number of batches of an
epoch is known before a byte of audio is read.

Training with ``train.train_shards: DIR`` (or an ``http(s)://`` URL of such a folder)
streams them: each epoch shuffles the shard order from (seed, epoch), gives every K-th
shard to each torchrun process, reads members sequentially (``tarfile`` in stream mode)
and cuts length buckets within a buffer of ``train.shuffle_buffer`` items, whose batches
are shuffled. Each DataLoader worker reads the process's shards and decodes every W-th
batch (reading is W-fold, decoding is shared), so the batches do not depend on the
worker count. Lengths come from the rows: batches a resumed run skips are never decoded. An epoch is as many
batches as global length buckets over the whole corpus would give; a process whose
shards run out first starts over them, so all processes step in lockstep (like
WebDataset's ``with_epoch``): an item may be seen once more or once less in an epoch.
"""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_write, atomic_write_text
from ..errors import ManifestError, RecognizeError
from ..inputs.manifest import LazyManifest, lengths_of
from ..kinds import kind_named, kind_of_row

INDEX = "shards.json"


def write_shards(manifest: str | Path, out: str | Path, cfg, shard_size: int = 1000) -> list[Path]:
    """Pack a manifest's rows and media files into tar shards of ``shard_size`` items under
    ``out``, plus ``shards.json``. Lengths are in the unit of ``cfg``'s batch budget."""
    rows = LazyManifest(manifest, cfg.image.height if kind_named(cfg.kind).unit == "pixels" else 0)
    lengths = lengths_of(rows, cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shards, characters = [], set()
    for first in range(0, len(rows), shard_size):
        name = f"shard-{first // shard_size:06d}.tar"
        count = min(shard_size, len(rows) - first)

        def write(tmp, first=first, count=count):
            with tarfile.open(tmp, "w") as tar:
                for i in range(first, first + count):
                    row = rows[i]
                    media = kind_of_row(row).key
                    path = Path(row[media])
                    try:
                        content = path.read_bytes()
                    except OSError as e:
                        raise ManifestError(f"{path}: cannot read ({e.strerror})") from None
                    key = f"{i:09d}"
                    suffix = "".join(path.suffixes[-1:]).lower() or ".bin"
                    entry = {**row, media: key + suffix, "length": float(lengths[i])}
                    for member, data in ((key + ".json", json.dumps(entry, ensure_ascii=False).encode()),
                                         (key + suffix, content)):
                        info = tarfile.TarInfo(member)
                        info.size, info.mode = len(data), 0o644
                        tar.addfile(info, io.BytesIO(data))
                    characters.update(row.get("text", ""))

        atomic_write(out / name, write)
        shards.append({"name": name, "items": count})
    index = {"kind": cfg.kind, "shards": shards, "lengths": [round(float(x), 3) for x in lengths],
             "characters": "".join(sorted(characters))}
    atomic_write_text(out / INDEX, json.dumps(index, ensure_ascii=False))
    return [out / s["name"] for s in shards]


def _open(location: str):
    """A binary stream of a local file or an http(s) URL."""
    if location.startswith(("http://", "https://")):
        try:
            return urllib.request.urlopen(location, timeout=60)
        except OSError as e:
            raise RecognizeError(f"{location}: cannot fetch ({e})") from None
    try:
        return open(location, "rb")
    except OSError as e:
        raise RecognizeError(f"{location}: cannot read ({e.strerror})") from None


def read_index(source: str) -> dict:
    """``shards.json`` of a shard folder or URL, with each shard's full location under ``url``."""
    base = source.rstrip("/")
    with _open(f"{base}/{INDEX}") as f:
        try:
            index = json.loads(f.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise RecognizeError(f"{base}/{INDEX}: not a shard index (JSON)") from None
    for shard in index["shards"]:
        shard["url"] = f"{base}/{shard['name']}"
    return index


def read_shard(location: str):
    """Yield ``(row, media bytes)`` of each item of one tar shard, read sequentially; the
    row's media path becomes ``location/member`` (it names the item in errors)."""
    with _open(location) as stream, tarfile.open(fileobj=stream, mode="r|*") as tar:
        pending: dict[str, dict] = {}
        for member in tar:
            if not member.isfile():
                continue
            key, _, suffix = member.name.partition(".")
            data = tar.extractfile(member).read()
            item = pending.setdefault(key, {})
            item["row" if suffix == "json" else "content"] = data
            if "row" in item and "content" in item:
                del pending[key]
                row = json.loads(item["row"])
                media = kind_of_row(row).key
                row[media] = f"{location}/{row[media]}"
                yield row, item["content"]


class ShardStream(torch.utils.data.IterableDataset):
    """Length-bucketed training batches streamed from tar shards (see the module docstring):
    an iterable dataset whose items are collated batches (use ``DataLoader(batch_size=None)``).

    ``index`` is :func:`read_index`'s (of a folder or URL); ``make_item(row, content, epoch,
    batch)`` decodes one item, ``batch`` being its batch's ``[(row, content)]``. Set ``epoch`` and ``start``
    (batches of this process's epoch already done) before iterating; ``len()`` is the
    number of batches left in the epoch.
    """

    def __init__(self, index: dict, make_item, budget: float, max_batch_size: int, seed: int = 0,
                 rank: int = 0, world: int = 1, buffer: int = 2000):
        from .data import BucketBatchSampler

        self.index = index
        self.make_item, self.budget, self.max_batch_size = make_item, budget, max_batch_size
        self.seed, self.rank, self.world, self.buffer = seed, rank, world, buffer
        self.epoch, self.start = 0, 0
        everything = BucketBatchSampler(self.index["lengths"], budget, max_batch_size, shuffle=False)
        self.steps = len(everything.all_batches()) // world  # batches per process and epoch

    def __len__(self) -> int:
        return self.steps - self.start

    def _my_shards(self, rounds: int) -> list[dict]:
        shards = list(self.index["shards"])
        np.random.default_rng([self.seed, self.epoch, rounds]).shuffle(shards)
        if len(shards) >= self.world:
            return shards[self.rank :: self.world]
        return shards  # fewer shards than processes: each reads all, keeping its share of items

    def _buckets(self):
        """Endless batches of (row, content) pairs for this process, without decoding."""
        rounds, few = 0, len(self.index["shards"]) < self.world
        while True:
            rng = np.random.default_rng([self.seed, self.epoch, rounds, self.rank])
            pool: list = []
            for shard in self._my_shards(rounds):
                for n, pair in enumerate(read_shard(shard["url"])):
                    if few and n % self.world != self.rank:
                        continue
                    pool.append(pair)
                    if len(pool) >= self.buffer:
                        yield from self._cut(pool, rng)
                        pool = []
            yield from self._cut(pool, rng)
            rounds += 1

    def _cut(self, pool: list, rng) -> list:
        """Length buckets of a pool of items, in a random order."""
        pool.sort(key=lambda pair: pair[0]["length"])
        batches, current = [], []
        for pair in pool:
            longest = max([p[0]["length"] for p in current] + [pair[0]["length"]])
            if current and (longest * (len(current) + 1) > self.budget or len(current) >= self.max_batch_size):
                batches.append(current)
                current = []
            current.append(pair)
        if current:
            batches.append(current)
        rng.shuffle(batches)
        return batches

    def __iter__(self):
        from .data import collate

        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        # Every worker follows this process's one sequence of batches (reading is cheap,
        # lengths come from the rows) and decodes every W-th from `start` on: DataLoader
        # takes batches from its workers in turn, so they arrive in sequence order.
        if self.steps <= self.start:
            return
        for g, batch in enumerate(self._buckets()):
            if g >= self.steps:
                return
            if g >= self.start and (g - self.start) % workers == worker:
                yield collate([self.make_item(row, content, self.epoch, batch) for row, content in batch])
