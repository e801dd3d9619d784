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

import json
import sys
import time
from pathlib import Path

import torch

from .. import distributed
from ..atomic import atomic_write_text
from ..config import Config, from_dict
from ..decoding.greedy import greedy_decode
from ..errors import ConfigError, RecognizeError
from ..evaluation.history import headline, read_history
from ..evaluation.metrics import corpus_errors
from ..inputs.manifest import LazyManifest, lengths_of
from ..inputs.text import BLANK, Alphabet
from ..kinds import kind_named
from ..model.checkpoint import init_from_checkpoint, read_checkpoint, save_checkpoint
from ..model.ctc import CTCModel
from . import objective
from .data import loader, make_dataset, stream_item_maker
from .distill import load_teacher, taught
from .normalization import feature_stats, stats_features
from .objective import autocast, autocast_dtype, lr_lambda, mean_loss, weight_noise
from .shards import ShardStream, read_index
from .state import (
    Run,
    changed_on_resume,
    prune_snapshots,
    restore_state,
    save,
    seed_everything,
    weights_checksum,
)


def train(cfg: Config, out: str | Path, resume: bool = False) -> dict:
    """Train a model as ``cfg`` says, writing the run folder ``out``. Returns the best epoch's
    metrics. Under torchrun every process calls this; rank 0 writes ``out``."""
    proc, device = distributed.start(cfg.train.device)
    try:
        run = Run(cfg, Path(out), proc, device)
        check_inputs(run, resume)
        read_data(run, resume)
        build_loaders(run)
        build_model(run)
        restore(run)
        for epoch in range(run.progress["epoch"], cfg.train.epochs + 1):
            started = time.time()
            unfit = train_epoch(run, epoch)
            if end_epoch(run, epoch, unfit, time.time() - started):
                break
        return run.progress["best"]
    finally:
        distributed.stop()


def check_inputs(run: Run, resume: bool) -> None:
    """Refuse a config without data, a run folder that holds a run (without ``--resume``) or
    none (with it); set threads, the autocast dtype and every process's seed."""
    t, out = run.cfg.train, run.out
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
    run.dtype = autocast_dtype(t.precision, run.device)
    seed_everything(t.seed + run.proc.rank)  # every process its own SpecAugment and dropout draws


def read_data(run: Run, resume: bool) -> None:
    """The manifests (or the shards' index) and the alphabet: the training text's, the
    resumed run's, or with ``train.init`` the union with the checkpoint's (whose model and
    input settings the config then takes)."""
    cfg, t = run.cfg, run.cfg.train
    height = cfg.image.height if kind_named(cfg.kind).unit == "pixels" else 0  # widths come at this height
    dev_rows = LazyManifest(t.dev_manifest, height)
    if t.train_shards:  # streamed: the index has every length and character
        index = read_index(t.train_shards)
        if index["kind"] != cfg.kind:
            raise ConfigError(f"train.train_shards: {t.train_shards} holds {index['kind']} data, the config is for {cfg.kind}")
        train_rows, n_train = None, len(index["lengths"])
        run.alphabet = Alphabet([BLANK] + sorted(index["characters"]))
    else:
        index, train_rows = None, LazyManifest(t.train_manifest, height)
        n_train, run.alphabet = len(train_rows), Alphabet.from_texts(r["text"] for r in train_rows)
    run.data = {"train_rows": train_rows, "index": index, "n_train": n_train, "dev_rows": dev_rows}
    run.resumed = read_checkpoint(run.out / "last.pt") if resume else None
    if run.resumed:
        run.alphabet = Alphabet(run.resumed["alphabet"])
        run.changed = changed_on_resume(cfg, run.resumed["config"], run.out)
    run.init = read_checkpoint(t.init) if t.init and not run.resumed else None
    if run.init:  # fine-tuning: the checkpoint's architecture and input settings, a possibly new alphabet
        start = from_dict(run.init["config"])
        if start.kind != cfg.kind:
            raise ConfigError(f"train.init: {t.init} is a {start.kind} model, the config is for {cfg.kind}")
        cfg.model, cfg.features, cfg.image = start.model, start.features, start.image
        if t.init_alphabet == "union":
            run.alphabet = Alphabet(run.init["alphabet"]).union(run.alphabet)
    for name, rows in (("train", train_rows or []), ("dev", dev_rows)):
        unknown = set().union(*(run.alphabet.unknown(r["text"]) for r in rows))
        if unknown:
            run.log(f"warning: {name} text has characters outside the alphabet, skipped in labels: "
                    f"{''.join(sorted(unknown))!r}")


def build_loaders(run: Run) -> None:
    """Length-bucketed loaders: training (from the manifest or streamed from shards; each
    process every K-th bucket) and dev (each process its shard)."""
    cfg, t, proc, data = run.cfg, run.cfg.train, run.proc, run.data
    budget = t.batch_seconds if kind_named(cfg.kind).unit == "seconds" else t.batch_width
    if t.train_shards:
        run.train_set = run.sampler = ShardStream(data["index"], stream_item_maker(run.alphabet, cfg), budget,
                                                  t.max_batch_size, t.seed, proc.rank, proc.world, t.shuffle_buffer)
        run.train_loader = torch.utils.data.DataLoader(run.train_set, batch_size=None, num_workers=t.num_workers)
    else:
        run.train_set = make_dataset(data["train_rows"], run.alphabet, cfg, train=True)
        run.train_loader = loader(run.train_set, lengths_of(data["train_rows"], cfg), budget, t.max_batch_size,
                                  shuffle=True, seed=t.seed, num_workers=t.num_workers, rank=proc.rank,
                                  world=proc.world)
        run.sampler = run.train_loader.batch_sampler
    dev_shard = distributed.shard(list(data["dev_rows"]), proc)
    dev_lengths = distributed.shard(list(lengths_of(data["dev_rows"], cfg)), proc)
    run.dev_loader = loader(make_dataset(dev_shard, run.alphabet, cfg, train=False), dev_lengths,
                            budget, t.max_batch_size, shuffle=False, num_workers=t.num_workers)


def build_model(run: Run) -> None:
    """The model (resumed weights, fine-tuning weights, or new with the speech features'
    statistics), its optimizer, schedule, gradient scaler and moving average."""
    cfg, t = run.cfg, run.cfg.train
    if taught(cfg):  # first: a wrong teacher is told before the statistics are computed
        run.teacher = load_teacher(t.teacher, cfg, run.alphabet, run.device)
        run.log(f"distilling {t.teacher} ({run.teacher.cfg.cell}, {run.teacher.num_parameters():,} parameters), "
                f"weight {t.distill}")
    model = run.model = CTCModel(cfg.model, cfg.input_dim, len(run.alphabet))
    if run.resumed:
        model.load_state_dict(run.resumed["model"])
    elif run.init:
        shared = init_from_checkpoint(model, run.init, run.alphabet)
        run.log(f"initialized from {t.init}: {shared} of {len(run.alphabet)} symbols shared with its alphabet")
    elif kind_named(cfg.kind).unit == "seconds":  # line images are already in [0, 1]: no statistics needed
        n = min(run.data["n_train"], t.stats_utterances)
        run.log(f"computing feature statistics over {n} training utterances")
        features = stats_features(cfg, run.alphabet, n, run.proc, run.data["train_rows"], run.data["index"])
        model.normalizer.mean, model.normalizer.std = feature_stats(features, run.proc)
    model.to(run.device).train()
    run.optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    run.scheduler = torch.optim.lr_scheduler.LambdaLR(
        run.optimizer, lr_lambda(t.warmup_steps, t.epochs * len(run.sampler), t.final_lr_ratio))
    run.scaler = torch.amp.GradScaler("cuda") if run.dtype == torch.float16 else None
    if t.ema:  # torch's AveragedModel; its copy is what dev evaluation and best.pt see
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        run.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(t.ema), use_buffers=True)


def restore(run: Run) -> None:
    """Continue from last.pt (optimizer, schedule, generators, position in the epoch), or
    start the run folder; then wrap the model for DDP."""
    import yaml

    cfg, t, proc, out = run.cfg, run.cfg.train, run.proc, run.out
    if run.resumed:
        restore_state(run, run.resumed["train_state"])
        run.log(f"resuming {out} at epoch {run.progress['epoch']}, batch {run.progress['batches_done']}")
        if run.changed and proc.main:  # config.yaml says what the run goes on with
            run.log("changed settings: " + ", ".join(f"{key} {was!r} -> {now!r}"
                                                     for key, (was, now) in run.changed.items()))
            atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        run.history = [r for r in read_history(out, required=False) if r["epoch"] < run.progress["epoch"]]
        if proc.main:  # drop records of an epoch that last.pt does not include
            atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in run.history))
    elif proc.main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        (out / "metrics.jsonl").unlink(missing_ok=True)
        run.log(f"model: {run.model.num_parameters():,} parameters, alphabet of {len(run.alphabet)} symbols, "
                f"{run.data['n_train']} train / {len(run.data['dev_rows'])} dev utterances, device {run.device}"
                + (f", {proc.world} processes" if proc.distributed else ""))
    run.frozen = bool(t.init) and run.scheduler.last_epoch < t.freeze_frontend_steps
    run.model.frontend.requires_grad_(not run.frozen)  # fine-tuning: let the new head settle first
    run.wrapped = wrap(run)


def wrap(run: Run) -> torch.nn.Module:
    """The model in DistributedDataParallel under torchrun (which registers the weights that
    require gradients when it is built), else the model itself."""
    if not run.proc.distributed:
        return run.model
    device_ids = [run.device] if run.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(run.model, device_ids=device_ids)


def train_epoch(run: Run, epoch: int) -> dict:
    """One pass over this process's batches, from where last.pt left it; returns ``{id: why}``
    of the utterances left out because their labels cannot fit their output frames."""
    from tqdm import tqdm

    t, progress = run.cfg.train, run.progress
    unfit_now = {}
    run.train_set.epoch = run.sampler.epoch = epoch
    run.sampler.start = progress["batches_done"]
    bar = tqdm(run.train_loader, desc=f"epoch {epoch}/{t.epochs}", leave=True, file=sys.stderr,
               disable=None if run.proc.main else True)
    for batch in bar:
        loss, n, unfit = step(run, batch)
        unfit_now.update(unfit)
        progress["skipped"].extend(u for u in unfit if u not in progress["skipped"])
        progress["batches_done"] += 1
        if loss is None:
            progress["nonfinite"] += 1
            progress["streak"] += 1
            if progress["streak"] >= t.max_nonfinite:
                raise RecognizeError(
                    f"{run.out}: {progress['streak']} non-finite losses in a row (epoch {epoch}, batch "
                    f"{progress['batches_done']}, last ids {', '.join(batch['ids'][:3])}); stopped with the last "
                    f"good checkpoint kept in {run.out / 'last.pt'} - lower train.lr or check those inputs")
            continue
        progress["streak"] = 0
        run.mine["loss_sum"] += loss * n
        run.mine["utts"] += n
        bar.set_postfix(loss=f"{run.mine['loss_sum'] / max(run.mine['utts'], 1):.3f}")
        if t.save_every_steps and progress["batches_done"] % t.save_every_steps == 0:
            save(run)
    return unfit_now


def step(run: Run, batch: dict) -> tuple[float | None, int, dict]:
    """One optimizer step on ``batch``: ``(loss, utterances counted, {id: why} left out)``;
    the loss is None when the gradients were not finite and the step was skipped."""
    t = run.cfg.train
    with weight_noise(run.model, t.weight_noise):
        loss, n, unfit = objective.batch_loss(run.wrapped, batch, run.cfg, run.device, run.dtype, run.teacher)
        run.optimizer.zero_grad(set_to_none=True)
        (run.scaler.scale(loss) if run.scaler else loss).backward()
    if run.scaler:
        run.scaler.unscale_(run.optimizer)
    norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), t.grad_clip)
    if not torch.isfinite(norm):  # the same verdict on every rank: gradients are already averaged
        run.optimizer.zero_grad(set_to_none=True)
        if run.scaler:
            run.scaler.update()  # lower the scale
        return None, n, unfit
    if run.scaler:
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        run.optimizer.step()
    run.scheduler.step()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    if run.frozen and run.scheduler.last_epoch >= t.freeze_frontend_steps:
        run.model.frontend.requires_grad_(True)
        run.frozen, run.wrapped = False, wrap(run)
    return loss.item(), n, unfit


@torch.inference_mode()
def dev_errors(run: Run) -> dict:
    """Greedy WER/CER of the evaluated weights over the dev loader (each process its shard,
    scored together)."""
    model, device = run.evaluated, run.device
    model.eval()
    refs, hyps = [], []
    for batch in run.dev_loader:
        with autocast(device, run.dtype):
            log_probs, out_lens = model(batch["features"].to(device), batch["lengths"].to(device))
        decoded = greedy_decode(log_probs.float().cpu().numpy(), out_lens.cpu().numpy(), run.alphabet,
                                run.cfg.frame_unit)
        hyps.extend(hyp.text for hyp in decoded)
        refs.extend(batch["texts"])
    model.train()
    shards = distributed.gather((refs, hyps), run.proc)
    return corpus_errors([r for s in shards for r in s[0]], [h for s in shards for h in s[1]])


def end_epoch(run: Run, epoch: int, unfit_now: dict, seconds: float) -> bool:
    """Score dev, log and record the epoch, keep best.pt and the snapshots, write last.pt.
    Returns True when early stopping ends the run."""
    cfg, proc, progress = run.cfg, run.proc, run.progress
    dev = dev_errors(run)
    sums = distributed.gather((run.mine["loss_sum"], run.mine["utts"], progress["skipped"], unfit_now), proc)
    skipped = {u for s in sums for u in s[2]}
    new = {u: why for s in sums for u, why in s[3].items() if u not in run.reported}
    run.reported.update(new)
    if new:
        listed = ", ".join(f"{u} ({why})" for u, why in sorted(new.items())[:10])
        run.log(f"warning: skipped {len(new)} utterances whose labels cannot fit their output frames "
                f"(or whose text is empty): {listed}{' ...' if len(new) > 10 else ''}")
    record = {
        "epoch": epoch,
        "step": run.scheduler.last_epoch,
        "train_loss": mean_loss(sums),
        "wer": round(dev["wer"], 4),
        "cer": round(dev["cer"], 4),
        "lr": run.scheduler.get_last_lr()[0],
        "seconds": round(seconds, 1),
        "skipped": len(skipped),
        "nonfinite_batches": progress["nonfinite"],
    }
    if proc.distributed:
        checksums = distributed.gather(weights_checksum(run.model), proc)
        record["processes"] = proc.world
        record["ranks_in_sync"] = all(c == checksums[0] for c in checksums)
    best = progress["best"]
    improved = best is None or headline(record, cfg.kind) < headline(best, cfg.kind)
    progress["best"], progress["stale"] = (record, 0) if improved else (best, progress["stale"] + 1)
    run.history.append(record)
    progress.update(epoch=epoch + 1, batches_done=0, nonfinite=0)
    run.mine.update(loss_sum=0.0, utts=0)
    if proc.main:
        write_epoch(run, record, improved)
    save(run)
    if cfg.train.patience and progress["stale"] >= cfg.train.patience:
        run.log(f"early stopping: no dev improvement for {progress['stale']} epochs")
        return True
    return False


def write_epoch(run: Run, record: dict, improved: bool) -> None:
    """Rank 0: the epoch's line in metrics.jsonl and on stderr, best.pt, the epoch snapshot."""
    out, t = run.out, run.cfg.train
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    loss_text = "n/a (every batch skipped)" if record["train_loss"] is None else f"{record['train_loss']:.3f}"
    run.log(f"epoch {record['epoch']}/{t.epochs}: train loss {loss_text}, dev WER {100 * record['wer']:.2f} % "
            f"CER {100 * record['cer']:.2f} %, {record['seconds']:.0f} s{' (best)' if improved else ''}")
    if improved:
        save_checkpoint(out / "best.pt", run.evaluated, run.cfg, run.alphabet)
    if t.keep_epochs:
        save_checkpoint(out / f"epoch{record['epoch']}.pt", run.model, run.cfg, run.alphabet)
        prune_snapshots(out, run.history, t.keep_epochs, run.cfg)
