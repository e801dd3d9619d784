"""The training loop: CTC loss, AdamW with warm-up + cosine decay, clipping, bucketed
batches, dev WER/CER every epoch, best checkpoint, early stopping, resume — in one
process or in K under ``torchrun`` (DistributedDataParallel).

Run folder (``--out DIR``)::

    config.yaml      the resolved config
    metrics.jsonl    one JSON object per epoch
    last.pt          model + training state, at epoch ends and every train.save_every_steps batches
    best.pt          the epoch with the lowest dev WER (speech) or CER (handwriting)
    epochN.pt        snapshots of the last and the best train.keep_epochs epochs (recognize average)

A run killed at any moment continues with ``--resume`` from last.pt: model, optimizer,
scheduler, gradient scaler, moving average, epoch, position within the epoch and every
process's random generators. Batch order and speed perturbation depend only on (seed,
epoch, index), and SpecAugment and dropout on the restored generators, so on the CPU a
resumed run ends with the weights of an uninterrupted one.

Under torchrun each process takes every K-th length bucket (the effective batch is K
times ``batch_seconds``/``batch_width``; the learning rate is not scaled for you), dev
evaluation is sharded and gathered, and rank 0 alone writes files and logs.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from . import distributed
from .atomic import atomic_write_text
from .augment import spec_augment
from .checkpoint import init_from_checkpoint, read_checkpoint, save_checkpoint
from .config import Config, differences, from_dict
from .data import ctc_fits, loader, make_dataset, speech_item, stream_item_maker
from .decoding import greedy_decode
from .errors import ConfigError, RecognizeError
from .history import headline, read_history
from .manifest import LazyManifest, lengths_of
from .metrics import corpus_errors
from .model import CTCModel
from .shards import ShardStream, read_index, read_shard
from .text import BLANK, Alphabet

PROC = distributed.Process()  # this process's place in a torchrun job (set by train)


def log(message: str) -> None:
    """A line on stderr from rank 0 (above the progress bar)."""
    if PROC.main:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)


def feature_stats(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and standard deviation of ``(T, F)`` feature tensors (this process's
    share; the sums of every process are added up)."""
    total, total_sq, frames = torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64), 0
    for f in features:
        f = f.double()
        total, total_sq, frames = total + f.sum(0), total_sq + (f**2).sum(0), frames + len(f)
    sums = distributed.gather((total, total_sq, frames), PROC)
    total, total_sq, frames = (sum(s[k] for s in sums) for k in range(3))
    mean = total / frames
    std = (total_sq / frames - mean**2).clamp(min=1e-8).sqrt()
    return mean.float(), std.float()


def stats_features(cfg: Config, alphabet: Alphabet, n: int, rows=None, index: dict | None = None):
    """This process's share of the features of ``n`` training utterances, without augmentation:
    a random sample of the manifest ``rows``, or the first ``n`` items of the shards of ``index``."""
    if rows is not None:
        sample = sorted(np.random.default_rng(cfg.train.seed).permutation(len(rows))[:n])
        dataset = make_dataset(rows, alphabet, cfg, train=False)
        return (dataset[int(i)]["features"] for i in distributed.shard(sample, PROC))
    pairs = (pair for shard in index["shards"] for pair in read_shard(shard["url"]))
    return (speech_item(row, alphabet, cfg.features, content=content)["features"]
            for i, (row, content) in zip(range(n), pairs) if i % PROC.world == PROC.rank)


def lr_lambda(warmup: int, total: int, final_ratio: float):
    """Linear warm-up to 1, then cosine decay to ``final_ratio`` at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``train.precision`` (None: float32, no autocast)."""
    if precision in ("bf16", "fp16") and device.type != "cuda":
        raise ConfigError(f"train.precision: {precision} needs a CUDA device (the CPU trains in fp32)")
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


@torch.inference_mode()
def dev_errors(model: CTCModel, dev, alphabet: Alphabet, device, frame_unit: float, dtype=None) -> dict:
    """Greedy WER/CER of ``model`` over the dev loader (each process its shard, scored together)."""
    model.eval()
    refs, hyps = [], []
    for batch in dev:
        with autocast(device, dtype):
            log_probs, out_lens = model(batch["features"].to(device), batch["lengths"].to(device))
        for hyp in greedy_decode(log_probs.float().cpu().numpy(), out_lens.cpu().numpy(), alphabet, frame_unit):
            hyps.append(hyp.text)
        refs.extend(batch["texts"])
    model.train()
    shards = distributed.gather((refs, hyps), PROC)
    return corpus_errors([r for s in shards for r in s[0]], [h for s in shards for h in s[1]])


def batch_loss(model, batch: dict, cfg: Config, device, dtype=None):
    """CTC loss of a batch (float32, summed over utterances, divided by their number; with
    ``train.inter_ctc`` = w, (1 - w) times it plus w times the intermediate layer's), the
    number of utterances in it, and ``{id: why}`` of those left out: their labels cannot fit
    their output frames (or are empty). SpecAugment masks are applied first when the config asks.
    A batch with nothing left gives a zero loss that still reaches every weight (DDP)."""
    feats, lengths = batch["features"].to(device), batch["lengths"].to(device)
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


def prune_snapshots(out: Path, history: list[dict], keep: int, cfg: Config) -> None:
    """Delete epoch snapshots that are neither among the last ``keep`` nor the best ``keep`` epochs."""
    last = {r["epoch"] for r in history[-keep:]}
    best = {r["epoch"] for r in sorted(history, key=lambda r: headline(r, cfg.kind))[:keep]}
    for path in out.glob("epoch*.pt"):
        if int(path.stem[len("epoch"):]) not in last | best:
            path.unlink()


def rng_state(device: torch.device) -> dict:
    """Every random generator of this process, as tensors and plain values (weights_only loads them)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def weights_checksum(model: torch.nn.Module) -> list[float]:
    """One float64 sum per parameter: equal on every rank while DDP keeps them in sync."""
    return [float(p.detach().double().sum()) for p in model.parameters()]


def changed_on_resume(cfg: Config, run_config: dict, out: Path) -> dict:
    """``{key: (the run's value, cfg's)}`` of the settings ``cfg`` changes in a resumed run.
    Schedule, augmentation and the like may change; a model or input setting may not (the
    weights could not load): :class:`ConfigError` naming it. A fine-tuned run keeps the model
    and input settings it took from its ``train.init`` checkpoint: ``cfg`` is given them."""
    run_cfg = from_dict(run_config)  # settings newer than the run get their defaults
    if cfg.train.init:
        cfg.model, cfg.features, cfg.image = run_cfg.model, run_cfg.features, run_cfg.image
    changed = differences(run_cfg.to_dict(), cfg.to_dict())
    for key, (was, now) in changed.items():
        if key.split(".")[0] in ("kind", "features", "image", "model"):
            raise ConfigError(f"{out}: a resumed run keeps its model and input settings; "
                              f"{key} is {was!r} there, {now!r} here")
    return changed


def train(cfg: Config, out: str | Path, resume: bool = False) -> dict:
    """Train a model as ``cfg`` says, writing the run folder ``out``. Returns the best epoch's
    metrics. Under torchrun every process calls this; rank 0 writes ``out``."""
    global PROC
    proc, device = distributed.start(cfg.train.device)
    PROC = proc
    try:
        return _train(cfg, Path(out), resume, device)
    finally:
        distributed.stop()
        PROC = distributed.Process()


def _train(cfg: Config, out: Path, resume: bool, device: torch.device) -> dict:
    import yaml
    from tqdm import tqdm

    t, proc = cfg.train, PROC
    if not (t.train_manifest or t.train_shards) or not t.dev_manifest:
        raise ConfigError("train.train_manifest (or train.train_shards) and train.dev_manifest must be set")
    for key in ("train_manifest", "dev_manifest"):
        path = getattr(t, key)
        if path and not (key == "train_manifest" and t.train_shards) and not Path(path).is_file():
            raise ConfigError(f"train.{key}: {path}: no such file (relative to the current folder, {Path.cwd()}; "
                              "prepare the corpus first, see the config's comments)")
    if (out / "last.pt").exists() and not resume:
        raise RecognizeError(f"{out}: already holds a run (last.pt); pass --resume to continue it or choose another --out")
    if resume and not (out / "last.pt").exists():
        raise RecognizeError(f"{out}: nothing to resume (no last.pt)")
    if t.threads:
        torch.set_num_threads(t.threads)
    dtype = autocast_dtype(t.precision, device)
    seed_everything(t.seed + proc.rank)  # every process its own SpecAugment and dropout draws

    height = cfg.image.height if cfg.kind == "handwriting" else 0
    dev_rows = LazyManifest(t.dev_manifest, height)
    if t.train_shards:  # streamed: the index has every length and character
        index = read_index(t.train_shards)
        if index["kind"] != cfg.kind:
            raise ConfigError(f"train.train_shards: {t.train_shards} holds {index['kind']} data, the config is for {cfg.kind}")
        train_rows, n_train = None, len(index["lengths"])
        alphabet = Alphabet([BLANK] + sorted(index["characters"]))
    else:
        index, train_rows = None, LazyManifest(t.train_manifest, height)
        n_train, alphabet = len(train_rows), Alphabet.from_texts(r["text"] for r in train_rows)
    resumed = read_checkpoint(out / "last.pt") if resume else None
    if resumed:
        alphabet = Alphabet(resumed["alphabet"])
        changed = changed_on_resume(cfg, resumed["config"], out)
    init = read_checkpoint(t.init) if t.init and not resumed else None
    if init:  # fine-tuning: the checkpoint's architecture and input settings, a possibly new alphabet
        start = from_dict(init["config"])
        if start.kind != cfg.kind:
            raise ConfigError(f"train.init: {t.init} is a {start.kind} model, the config is for {cfg.kind}")
        cfg.model, cfg.features, cfg.image = start.model, start.features, start.image
        if t.init_alphabet == "union":
            alphabet = Alphabet(init["alphabet"]).union(alphabet)
    for name, rows in (("train", train_rows or []), ("dev", dev_rows)):
        unknown = set().union(*(alphabet.unknown(r["text"]) for r in rows))
        if unknown:
            log(f"warning: {name} text has characters outside the alphabet, skipped in labels: {''.join(sorted(unknown))!r}")

    budget = t.batch_seconds if cfg.kind == "speech" else t.batch_width
    if t.train_shards:
        train_set = sampler = ShardStream(index, stream_item_maker(alphabet, cfg), budget, t.max_batch_size,
                                          t.seed, proc.rank, proc.world, t.shuffle_buffer)
        train_loader = torch.utils.data.DataLoader(train_set, batch_size=None, num_workers=t.num_workers)
    else:
        train_set = make_dataset(train_rows, alphabet, cfg, train=True)
        train_loader = loader(train_set, lengths_of(train_rows, cfg), budget, t.max_batch_size, shuffle=True,
                              seed=t.seed, num_workers=t.num_workers, rank=proc.rank, world=proc.world)
        sampler = train_loader.batch_sampler
    dev_shard = distributed.shard(list(dev_rows), proc)
    dev_lengths = distributed.shard(list(lengths_of(dev_rows, cfg)), proc)
    dev_loader = loader(make_dataset(dev_shard, alphabet, cfg, train=False), dev_lengths,
                        budget, t.max_batch_size, shuffle=False, num_workers=t.num_workers)

    model = CTCModel(cfg.model, cfg.input_dim, len(alphabet))
    if resumed:
        model.load_state_dict(resumed["model"])
    elif init:
        shared = init_from_checkpoint(model, init, alphabet)
        log(f"initialized from {t.init}: {shared} of {len(alphabet)} symbols shared with its alphabet")
    elif cfg.kind == "speech":  # line images are already in [0, 1]: no statistics needed
        n = min(n_train, t.stats_utterances)
        log(f"computing feature statistics over {n} training utterances")
        model.normalizer.mean, model.normalizer.std = feature_stats(stats_features(cfg, alphabet, n, train_rows, index))
    model.to(device).train()

    def wrap(model):  # DDP registers the weights that require gradients when it is built
        if not proc.distributed:
            return model
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    steps_per_epoch = len(sampler)
    optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(t.warmup_steps, t.epochs * steps_per_epoch, t.final_lr_ratio))
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    ema = None
    if t.ema:  # torch's AveragedModel; its copy is what dev evaluation and best.pt see
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(t.ema), use_buffers=True)

    # Where the run stands; last.pt carries it. Per-process parts (generators, loss sums) go under "ranks".
    run = {"epoch": 1, "batches_done": 0, "best": None, "stale": 0, "nonfinite": 0, "streak": 0, "skipped": []}
    mine = {"loss_sum": 0.0, "utts": 0}
    if resumed:
        state = resumed["train_state"]
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        if ema is not None and state.get("ema"):
            ema.load_state_dict(state["ema"])
        if "ranks" not in state:  # written before mid-epoch resume existed: at an epoch's end
            state = {**state, "epoch": state["epoch"] + 1, "ranks": [{"rng": {"torch": state["rng"]}}]}
        run.update({k: state[k] for k in run if k in state})
        ranks = state["ranks"]
        if len(ranks) == proc.world and "numpy" in ranks[proc.rank]["rng"]:
            set_rng_state(ranks[proc.rank]["rng"], device)
            mine.update({k: ranks[proc.rank][k] for k in mine})
        elif len(ranks) == proc.world:
            torch.set_rng_state(ranks[proc.rank]["rng"]["torch"])
        else:
            log(f"warning: {out}/last.pt was written by {len(ranks)} processes, this run has {proc.world}: "
                "random generators re-seeded, so the run goes on but will not repeat an uninterrupted one")
            seed_everything(t.seed + proc.rank + 1000 * run["epoch"])
        log(f"resuming {out} at epoch {run['epoch']}, batch {run['batches_done']}")
        if changed and proc.main:  # config.yaml says what the run goes on with
            log("changed settings: " + ", ".join(f"{key} {was!r} -> {now!r}" for key, (was, now) in changed.items()))
            atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    elif proc.main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        (out / "metrics.jsonl").unlink(missing_ok=True)
        log(f"model: {model.num_parameters():,} parameters, alphabet of {len(alphabet)} symbols, "
            f"{n_train} train / {len(dev_rows)} dev utterances, device {device}"
            + (f", {proc.world} processes" if proc.distributed else ""))
    history = [r for r in read_history(out, required=False) if r["epoch"] < run["epoch"]] if resumed else []
    if resumed and proc.main:  # drop records of an epoch that last.pt does not include
        atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history))

    def save() -> None:
        """last.pt (collective under torchrun: every process hands rank 0 its generators)."""
        ranks = distributed.gather({"rng": rng_state(device), **mine}, proc)
        if not proc.main:
            return
        state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "scaler": scaler.state_dict() if scaler else None, "ema": ema.state_dict() if ema else None,
                 **run, "ranks": ranks}
        save_checkpoint(out / "last.pt", model, cfg, alphabet, state)

    frozen = bool(t.init) and scheduler.last_epoch < t.freeze_frontend_steps
    model.frontend.requires_grad_(not frozen)  # fine-tuning: let the new head settle first
    wrapped = wrap(model)
    best, reported = run["best"], set()
    for epoch in range(run["epoch"], t.epochs + 1):
        started, unfit_now = time.time(), {}
        train_set.epoch = sampler.epoch = epoch
        sampler.start = run["batches_done"]
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{t.epochs}", leave=False, file=sys.stderr,
                   disable=None if proc.main else True)
        for batch in bar:
            with weight_noise(model, t.weight_noise):
                loss, n, unfit = batch_loss(wrapped, batch, cfg, device, dtype)
                optimizer.zero_grad(set_to_none=True)
                (scaler.scale(loss) if scaler else loss).backward()
            unfit_now.update(unfit)
            run["skipped"].extend(u for u in unfit if u not in run["skipped"])
            if scaler:
                scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            run["batches_done"] += 1
            if not torch.isfinite(norm):  # the same verdict on every rank: gradients are already averaged
                optimizer.zero_grad(set_to_none=True)
                if scaler:
                    scaler.update()  # lower the scale
                run["nonfinite"] += 1
                run["streak"] += 1
                if run["streak"] >= t.max_nonfinite:
                    raise RecognizeError(
                        f"{out}: {run['streak']} non-finite losses in a row (epoch {epoch}, batch "
                        f"{run['batches_done']}, last ids {', '.join(batch['ids'][:3])}); stopped with the last good "
                        f"checkpoint kept in {out / 'last.pt'} - lower train.lr or check those inputs")
                continue
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            if frozen and scheduler.last_epoch >= t.freeze_frontend_steps:
                model.frontend.requires_grad_(True)
                frozen, wrapped = False, wrap(model)
            run["streak"] = 0
            mine["loss_sum"] += loss.item() * n
            mine["utts"] += n
            bar.set_postfix(loss=f"{mine['loss_sum'] / max(mine['utts'], 1):.3f}")
            if t.save_every_steps and run["batches_done"] % t.save_every_steps == 0:
                save()

        dev = dev_errors(ema.module if ema is not None else model, dev_loader, alphabet, device,
                         cfg.frame_unit, dtype)
        sums = distributed.gather((mine["loss_sum"], mine["utts"], run["skipped"], unfit_now), proc)
        skipped = {u for s in sums for u in s[2]}
        new = {u: why for s in sums for u, why in s[3].items() if u not in reported}
        reported.update(new)
        if new:
            listed = ", ".join(f"{u} ({why})" for u, why in sorted(new.items())[:10])
            log(f"warning: skipped {len(new)} utterances whose labels cannot fit their output frames "
                f"(or whose text is empty): {listed}{' ...' if len(new) > 10 else ''}")
        record = {
            "epoch": epoch,
            "step": scheduler.last_epoch,
            "train_loss": mean_loss(sums),
            "wer": round(dev["wer"], 4),
            "cer": round(dev["cer"], 4),
            "lr": scheduler.get_last_lr()[0],
            "seconds": round(time.time() - started, 1),
            "skipped": len(skipped),
            "nonfinite_batches": run["nonfinite"],
        }
        if proc.distributed:
            checksums = distributed.gather(weights_checksum(model), proc)
            record["processes"] = proc.world
            record["ranks_in_sync"] = all(c == checksums[0] for c in checksums)
        improved = best is None or headline(record, cfg.kind) < headline(best, cfg.kind)
        best, run["stale"] = (record, 0) if improved else (best, run["stale"] + 1)
        history.append(record)
        run.update(epoch=epoch + 1, batches_done=0, best=best, nonfinite=0)
        mine.update(loss_sum=0.0, utts=0)
        if proc.main:
            with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            loss_text = "n/a (every batch skipped)" if record["train_loss"] is None else f"{record['train_loss']:.3f}"
            log(f"epoch {epoch}: train loss {loss_text}, dev WER {100 * record['wer']:.2f} % "
                f"CER {100 * record['cer']:.2f} %, {record['seconds']:.0f} s{' (best)' if improved else ''}")
            if improved:
                save_checkpoint(out / "best.pt", ema.module if ema is not None else model, cfg, alphabet)
            if t.keep_epochs:
                save_checkpoint(out / f"epoch{epoch}.pt", model, cfg, alphabet)
                prune_snapshots(out, history, t.keep_epochs, cfg)
        save()
        if t.patience and run["stale"] >= t.patience:
            log(f"early stopping: no dev improvement for {run['stale']} epochs")
            break
    return best
