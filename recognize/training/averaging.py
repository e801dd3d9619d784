"""Checkpoint averaging: the mean of the weights of several epochs of one run (as ESPnet
and NeMo do after training), often a little better than any single epoch."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError, RecognizeError
from ..evaluation.history import headline, read_history, run_kind
from ..model.checkpoint import atomic_save, read_checkpoint


def average_checkpoints(paths: list[str | Path], output: str | Path) -> None:
    """Write a checkpoint whose floating-point weights are the mean of ``paths``' (integer
    buffers such as batch-norm counters come from the last one). All must share one
    config and alphabet; training state is not carried over."""
    if not paths:
        raise RecognizeError("average: no checkpoints to average")
    states = [read_checkpoint(p) for p in paths]
    first = states[0]
    for path, state in zip(paths[1:], states[1:]):
        if state["config"]["model"] != first["config"]["model"] or state["alphabet"] != first["alphabet"]:
            raise ModelError(f"{path}: another model or alphabet than {paths[0]}; only epochs of one run average")
    averaged = {}
    for key, value in states[-1]["model"].items():
        if value.is_floating_point():
            averaged[key] = sum(s["model"][key].double() for s in states).div(len(states)).to(value.dtype)
        else:
            averaged[key] = value
    out = {k: v for k, v in states[-1].items() if k != "train_state"}
    out["model"] = averaged
    out["averaged"] = [str(p) for p in paths]
    atomic_save(out, output)


def pick_epochs(run: str | Path, last: int = 0, best: int = 0) -> list[Path]:
    """The epoch snapshots of a run folder to average: its ``last`` N epochs or its ``best``
    N by dev error (WER for speech, CER for handwriting), from metrics.jsonl. Every
    chosen epoch must still have its ``epochN.pt`` (train.keep_epochs keeps the last
    and best N)."""
    run = Path(run)
    records = read_history(run)
    if last:
        chosen = records[-last:]
    else:
        kind = run_kind(run)
        chosen = sorted(records, key=lambda r: headline(r, kind))[:best]
    paths = [run / f"epoch{r['epoch']}.pt" for r in sorted(chosen, key=lambda r: r["epoch"])]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        named = ", ".join(missing) if len(missing) <= 3 else f"{missing[0]} and {len(missing) - 1} more"
        raise RecognizeError(f"{run}: no snapshot {named} (train.keep_epochs keeps the last and "
                             f"best N epochs; it was smaller than {last or best}?)")
    return paths
