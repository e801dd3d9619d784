"""The training loop: CTC loss, AdamW with warm-up + cosine decay, clipping, bucketed
batches, dev WER/CER every epoch, best checkpoint, early stopping, resume.

Run folder (``--out DIR``)::

    config.yaml      the resolved config
    metrics.jsonl    one JSON object per epoch
    last.pt          model + training state after the latest epoch (for --resume)
    best.pt          the epoch with the lowest dev WER (speech) or CER (handwriting)
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from .augment import spec_augment
from .checkpoint import init_from_checkpoint, read_checkpoint, save_checkpoint
from .config import Config, from_dict
from .data import ctc_fits, loader, make_dataset
from .manifest import length_of, read_manifest
from .decoding import greedy_decode
from .errors import ConfigError, RecognizeError
from .metrics import corpus_errors
from .model import CTCModel
from .torch_runtime import pick_device
from .text import Alphabet


def log(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def feature_stats(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and standard deviation of the features over a dataset (no augmentation)."""
    total, total_sq, frames = 0.0, 0.0, 0
    for i in range(len(dataset)):
        f = dataset[i]["features"].double()
        total = total + f.sum(0)
        total_sq = total_sq + (f**2).sum(0)
        frames += len(f)
    mean = total / frames
    std = (total_sq / frames - mean**2).clamp(min=1e-8).sqrt()
    return mean.float(), std.float()


def lr_lambda(warmup: int, total: int, final_ratio: float):
    """Linear warm-up to 1, then cosine decay to ``final_ratio`` at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def autocast(device: torch.device):
    """bfloat16 autocast on CUDA; float32 (no autocast) on CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.inference_mode()
def dev_errors(model: CTCModel, dev, alphabet: Alphabet, device, frame_unit: float) -> dict:
    model.eval()
    refs, hyps = [], []
    for batch in dev:
        with autocast(device):
            log_probs, out_lens = model(batch["features"].to(device), batch["lengths"].to(device))
        for hyp in greedy_decode(log_probs.float().cpu().numpy(), out_lens.cpu().numpy(), alphabet, frame_unit):
            hyps.append(hyp.text)
        refs.extend(batch["texts"])
    model.train()
    return corpus_errors(refs, hyps)


def batch_loss(model: CTCModel, batch: dict, cfg: Config, device, skipped: set[str]):
    """CTC loss of a batch (float32, summed over utterances, divided by their number) and
    the number of utterances in it. Utterances whose labels cannot fit their output
    frames (or are empty) are left out and reported once each (ids kept in ``skipped``).
    SpecAugment masks are applied first when the config asks for them."""
    feats, lengths = batch["features"].to(device), batch["lengths"].to(device)
    if cfg.augment.freq_masks or cfg.augment.time_masks:
        feats = spec_augment(feats, lengths, cfg.augment, fill=model.normalizer.mean)
    with autocast(device):
        log_probs, out_lens = model(feats, lengths)  # (N, T', V), (N,)
    labels, label_lens = batch["labels"], batch["label_lengths"]
    keep = []
    for i, utt in enumerate(batch["ids"]):
        fits = label_lens[i] > 0 and ctc_fits(labels[i, : label_lens[i]], int(out_lens[i]))
        if fits:
            keep.append(i)
        elif utt not in skipped:
            skipped.add(utt)
            log(f"warning: skipping {utt}: {int(label_lens[i])} labels cannot fit "
                f"{int(out_lens[i])} output frames (or the text is empty)")
    if not keep:
        return None, 0
    idx = torch.tensor(keep)
    loss = F.ctc_loss(
        log_probs[idx.to(device)].float().transpose(0, 1),  # (T', N, V) as ctc_loss wants
        labels[idx].to(device), out_lens[idx.to(device)], label_lens[idx].to(device),
        blank=0, reduction="sum", zero_infinity=True,
    )
    return loss / len(keep), len(keep)


def headline(record: dict, cfg: Config) -> tuple[float, float]:
    """What "best" means: the lowest WER (then CER) for speech, CER (then WER) for handwriting."""
    return (record["wer"], record["cer"]) if cfg.kind == "speech" else (record["cer"], record["wer"])


def read_history(out: Path) -> list[dict]:
    """The epoch records of a run folder's metrics.jsonl (none if it is missing)."""
    path = out / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def prune_snapshots(out: Path, history: list[dict], keep: int, cfg: Config) -> None:
    """Delete epoch snapshots that are neither among the last ``keep`` nor the best ``keep`` epochs."""
    last = {r["epoch"] for r in history[-keep:]}
    best = {r["epoch"] for r in sorted(history, key=lambda r: headline(r, cfg))[:keep]}
    for path in out.glob("epoch*.pt"):
        if int(path.stem[len("epoch"):]) not in last | best:
            path.unlink()


def train(cfg: Config, out: str | Path, resume: bool = False) -> dict:
    """Train a model as ``cfg`` says, writing the run folder ``out``. Returns the best epoch's metrics."""
    import yaml
    from tqdm import tqdm

    out = Path(out)
    t = cfg.train
    if not t.train_manifest or not t.dev_manifest:
        raise ConfigError("train.train_manifest and train.dev_manifest must be set")
    if (out / "last.pt").exists() and not resume:
        raise RecognizeError(f"{out}: already holds a run (last.pt); pass --resume to continue it or choose another --out")
    if resume and not (out / "last.pt").exists():
        raise RecognizeError(f"{out}: nothing to resume (no last.pt)")
    if t.threads:
        torch.set_num_threads(t.threads)
    device = pick_device(t.device)
    torch.manual_seed(t.seed)

    train_rows = read_manifest(t.train_manifest)
    dev_rows = read_manifest(t.dev_manifest)
    resumed = read_checkpoint(out / "last.pt") if resume else None
    alphabet = Alphabet(resumed["alphabet"]) if resumed else Alphabet.from_texts(r["text"] for r in train_rows)
    init = read_checkpoint(t.init) if t.init and not resumed else None
    if init:  # fine-tuning: the checkpoint's architecture and input settings, a possibly new alphabet
        start = from_dict(init["config"])
        if start.kind != cfg.kind:
            raise ConfigError(f"train.init: {t.init} is a {start.kind} model, the config is for {cfg.kind}")
        cfg.model, cfg.features, cfg.image = start.model, start.features, start.image
        if t.init_alphabet == "union":
            alphabet = Alphabet(init["alphabet"]).union(alphabet)
    for name, rows in (("train", train_rows), ("dev", dev_rows)):
        unknown = set().union(*(alphabet.unknown(r["text"]) for r in rows))
        if unknown:
            log(f"warning: {name} text has characters outside the alphabet, skipped in labels: {''.join(sorted(unknown))!r}")

    train_set = make_dataset(train_rows, alphabet, cfg, train=True)
    budget = t.batch_seconds if cfg.kind == "speech" else t.batch_width
    train_loader = loader(train_set, [length_of(r, cfg) for r in train_rows], budget, t.max_batch_size,
                          shuffle=True, seed=t.seed, num_workers=t.num_workers)
    dev_loader = loader(make_dataset(dev_rows, alphabet, cfg, train=False), [length_of(r, cfg) for r in dev_rows],
                        budget, t.max_batch_size, shuffle=False, num_workers=t.num_workers)

    model = CTCModel(cfg.model, cfg.input_dim, len(alphabet))
    if resumed:
        model.load_state_dict(resumed["model"])
    elif init:
        shared = init_from_checkpoint(model, init, alphabet)
        log(f"initialized from {t.init}: {shared} of {len(alphabet)} symbols shared with its alphabet")
    elif cfg.kind == "speech":  # line images are already in [0, 1]: no statistics needed
        log(f"computing feature statistics over {len(train_rows)} training utterances")
        model.normalizer.mean, model.normalizer.std = feature_stats(make_dataset(train_rows, alphabet, cfg, False))
    model.to(device).train()
    frame_unit = cfg.frame_unit

    steps_per_epoch = len(train_loader.batch_sampler)
    optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(t.warmup_steps, t.epochs * steps_per_epoch, t.final_lr_ratio))
    first_epoch, best, stale = 1, None, 0
    if resumed:
        state = resumed["train_state"]
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        first_epoch, best, stale = state["epoch"] + 1, state["best"], state["stale"]
        log(f"resuming {out} after epoch {state['epoch']}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        (out / "metrics.jsonl").unlink(missing_ok=True)
        log(f"model: {model.num_parameters():,} parameters, alphabet of {len(alphabet)} symbols, "
            f"{len(train_rows)} train / {len(dev_rows)} dev utterances, device {device}")

    ema = None
    if t.ema:  # torch's AveragedModel; its copy is what dev evaluation and best.pt see
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(t.ema), use_buffers=True)
        if resumed:
            ema.load_state_dict(resumed["train_state"]["ema"])
    history = read_history(out) if resumed else []
    frozen = bool(t.init) and scheduler.last_epoch < t.freeze_frontend_steps
    model.frontend.requires_grad_(not frozen)  # fine-tuning: let the new head settle first
    skipped_ids: set[str] = set()
    for epoch in range(first_epoch, t.epochs + 1):
        started = time.time()
        train_set.epoch = train_loader.batch_sampler.epoch = epoch
        total_loss, total_utts, nonfinite = 0.0, 0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{t.epochs}", leave=False, disable=None, file=sys.stderr)
        for batch in bar:
            loss, n = batch_loss(model, batch, cfg, device, skipped_ids)
            if n == 0:
                continue
            optimizer.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                nonfinite += 1
                continue
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            if frozen and scheduler.last_epoch >= t.freeze_frontend_steps:
                model.frontend.requires_grad_(True)
                frozen = False
            total_loss += loss.item() * n
            total_utts += n
            elapsed = time.time() - started
            bar.set_postfix(loss=f"{total_loss / total_utts:.3f}", speed=f"{total_utts / elapsed:.1f} utt/s")

        dev = dev_errors(ema.module if ema is not None else model, dev_loader, alphabet, device, frame_unit)
        record = {
            "epoch": epoch,
            "step": epoch * steps_per_epoch,
            "train_loss": round(total_loss / max(total_utts, 1), 4),
            "wer": round(dev["wer"], 4),
            "cer": round(dev["cer"], 4),
            "lr": scheduler.get_last_lr()[0],
            "seconds": round(time.time() - started, 1),
            "skipped": len(skipped_ids),
            "nonfinite_batches": nonfinite,
        }
        improved = best is None or headline(record, cfg) < headline(best, cfg)
        if improved:
            best, stale = record, 0
        else:
            stale += 1
        history.append(record)
        with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        log(f"epoch {epoch}: train loss {record['train_loss']:.3f}, dev WER {100 * record['wer']:.2f} % "
            f"CER {100 * record['cer']:.2f} %, {record['seconds']:.0f} s{' (best)' if improved else ''}")
        train_state = {
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(), "epoch": epoch, "best": best, "stale": stale,
        }
        if ema is not None:
            train_state["ema"] = ema.state_dict()
        if improved:
            save_checkpoint(out / "best.pt", ema.module if ema is not None else model, cfg, alphabet)
        if t.keep_epochs:
            save_checkpoint(out / f"epoch{epoch}.pt", model, cfg, alphabet)
            prune_snapshots(out, history, t.keep_epochs, cfg)
        save_checkpoint(out / "last.pt", model, cfg, alphabet, train_state)
        if t.patience and stale >= t.patience:
            log(f"early stopping: no dev improvement for {stale} epochs")
            break
    return best

