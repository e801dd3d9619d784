"""A training run's state, and what its folder must carry for ``--resume`` to continue
exactly: every random generator, the settings a resumed run may change, and which epoch
snapshots to keep."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import distributed
from ..config import Config, differences, from_dict
from ..errors import ConfigError
from ..evaluation.history import headline
from ..inputs.text import Alphabet
from ..model.checkpoint import save_checkpoint
from ..model.ctc import CTCModel


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


def prune_snapshots(out: Path, history: list[dict], keep: int, cfg: Config) -> None:
    """Delete epoch snapshots that are neither among the last ``keep`` nor the best ``keep`` epochs."""
    last = {r["epoch"] for r in history[-keep:]}
    best = {r["epoch"] for r in sorted(history, key=lambda r: headline(r, cfg.kind))[:keep]}
    for path in out.glob("epoch*.pt"):
        if int(path.stem[len("epoch"):]) not in last | best:
            path.unlink()


@dataclass
class Run:
    """One training run as :func:`train`'s steps build it. ``progress`` is where the run
    stands and ``mine`` this process's share of the epoch's loss: last.pt carries both."""

    cfg: Config
    out: Path
    proc: distributed.Process
    device: torch.device
    dtype: torch.dtype | None = None
    alphabet: Alphabet | None = None
    resumed: dict | None = None  # last.pt, when resuming
    init: dict | None = None  # the train.init checkpoint, when fine-tuning
    changed: dict = field(default_factory=dict)  # settings a resumed run changes
    progress: dict = field(default_factory=lambda: {"epoch": 1, "batches_done": 0, "best": None, "stale": 0,
                                                    "nonfinite": 0, "streak": 0, "skipped": []})
    mine: dict = field(default_factory=lambda: {"loss_sum": 0.0, "utts": 0})
    history: list = field(default_factory=list)
    reported: set = field(default_factory=set)  # utterances already warned about
    frozen: bool = False  # fine-tuning: the frontend waits for train.freeze_frontend_steps
    data: dict = field(default_factory=dict)  # train_rows, index, n_train, dev_rows
    train_set: object = None
    sampler: object = None
    train_loader: object = None
    dev_loader: object = None
    model: CTCModel | None = None
    wrapped: torch.nn.Module | None = None  # the model, in DistributedDataParallel under torchrun
    optimizer: object = None
    scheduler: object = None
    scaler: object = None
    ema: object = None
    teacher: CTCModel | None = None  # train.teacher, frozen

    def log(self, message: str) -> None:
        """A line on stderr from rank 0 (above the progress bar)."""
        if self.proc.main:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)

    @property
    def evaluated(self) -> CTCModel:
        """The weights dev evaluation and best.pt see: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model


def restore_state(run: Run, state: dict) -> None:
    """The training state of a last.pt: optimizer, schedule, scaler, moving average, the
    run's progress and this process's generators and loss sums."""
    proc = run.proc
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    if run.scaler is not None and state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    if run.ema is not None and state.get("ema"):
        run.ema.load_state_dict(state["ema"])
    run.progress.update({k: state[k] for k in run.progress if k in state})
    ranks = state["ranks"]
    if len(ranks) == proc.world:
        set_rng_state(ranks[proc.rank]["rng"], run.device)
        run.mine.update({k: ranks[proc.rank][k] for k in run.mine})
    else:
        run.log(f"warning: {run.out}/last.pt was written by {len(ranks)} processes, this run has {proc.world}: "
                "random generators re-seeded, so the run goes on but will not repeat an uninterrupted one")
        seed_everything(run.cfg.train.seed + proc.rank + 1000 * run.progress["epoch"])


def save(run: Run) -> None:
    """last.pt (collective under torchrun: every process hands rank 0 its generators)."""
    ranks = distributed.gather({"rng": rng_state(run.device), **run.mine}, run.proc)
    if not run.proc.main:
        return
    state = {"optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
             "scaler": run.scaler.state_dict() if run.scaler else None,
             "ema": run.ema.state_dict() if run.ema else None, **run.progress, "ranks": ranks}
    save_checkpoint(run.out / "last.pt", run.model, run.cfg, run.alphabet, state)
