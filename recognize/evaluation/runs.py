"""``recognize runs RUN...``: training runs side by side (best epoch, dev WER and CER, the
settings in which they differ) and, for runs that differ only in their seed, the mean
and spread: on a small dev set one seed's point is not evidence.

Torch-free: it reads each run's ``config.yaml`` and ``metrics.jsonl``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from ..config import Config, flatten
from .history import headline, read_history, run_config

# Settings that say how a run ran, not what it learned: runs differing only in these are seeds of one setting.
HOW_IT_RAN = {"train.seed", "train.threads", "train.device", "train.num_workers", "train.save_every_steps",
              "train.keep_epochs"}


def read_run(run: str | Path, last: int = 0) -> dict:
    """``{"run", "kind", "epochs", "of", "best_epoch", "wer", "cer", "config"}`` of a run
    folder: epochs done and configured, the best epoch's dev figures, the flat config; with
    ``last`` = N, also ``"last_wer"`` and ``"last_cer"``, the means over its last N epochs
    (fewer if it has fewer): chosen by no dev figure, so less lucky than the best epoch."""
    # a setting newer than the run has its default, which is what the run did
    config = flatten(Config().to_dict()) | flatten(run_config(run))
    kind, planned = config["kind"], config["train.epochs"]
    records = read_history(run)
    best = min(records, key=lambda r: headline(r, kind))
    row = {"run": str(run), "kind": kind, "epochs": records[-1]["epoch"], "of": planned,
           "best_epoch": best["epoch"], "wer": best["wer"], "cer": best["cer"], "config": config}
    if last:
        row |= {f"last_{rate}": statistics.mean(r[rate] for r in records[-last:]) for rate in ("wer", "cer")}
    return row


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "sd": statistics.stdev(values), "min": min(values), "max": max(values)}


def compare_runs(runs: list[dict]) -> dict:
    """``{"runs": [run + "settings"], "seeds": [{"settings", "runs", "wer", "cer"}]}``.

    ``settings`` are the run's values of the settings that are not the same in every run;
    ``seeds`` groups the runs whose settings differ only in :data:`HOW_IT_RAN` (or in an
    early-stopping patience that never stopped them), two or more, with each rate's
    ``mean``, ``sd`` (sample), ``min`` and ``max`` (and so for ``last_wer`` and ``last_cer``
    when the runs have them)."""
    keys = sorted(set().union(*(r["config"] for r in runs)))
    varying = [k for k in keys if len({json.dumps(r["config"].get(k)) for r in runs}) > 1]
    rows = [r | {"settings": {k: r["config"].get(k) for k in varying}} for r in runs]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        learned = {k: v for k, v in r["settings"].items() if k not in HOW_IT_RAN
                   and not (k == "train.patience" and r["epochs"] == r["of"])}  # it never stopped the run
        groups.setdefault(json.dumps(learned, sort_keys=True), []).append(r)
    rates = [rate for rate in ("wer", "cer", "last_wer", "last_cer") if rate in runs[0]]
    seeds = [{"settings": json.loads(key), "runs": [r["run"] for r in members]}
             | {rate: _spread([r[rate] for r in members]) for rate in rates}
             for key, members in groups.items() if len(members) > 1]
    return {"runs": rows, "seeds": seeds}


def _setting(key: str, value) -> str:
    return f"{key}={json.dumps(value, separators=(',', ':')) if isinstance(value, (list, dict)) else value}"


def format_runs(result: dict, last: int = 0) -> str:
    """The table ``recognize runs`` prints; ``last``: the N of the runs' ``last_*`` means."""
    runs = result["runs"]
    width = max(len(r["run"]) for r in runs)
    lasts = f"  {f'last {last} WER':>12}  {f'last {last} CER':>12}" if last else ""
    lines = [f"{'run':{width}}  {'epochs':>7}  {'best':>4}  {'dev WER':>8}  {'dev CER':>8}{lasts}  settings"]
    for r in runs:
        settings = " ".join(_setting(k, v) for k, v in r["settings"].items())
        lasts = f"  {100 * r['last_wer']:11.2f}%  {100 * r['last_cer']:11.2f}%" if last else ""
        lines.append(f"{r['run']:{width}}  {r['epochs']:>3}/{r['of']:<3}  {r['best_epoch']:>4}  "
                     f"{100 * r['wer']:7.2f}%  {100 * r['cer']:7.2f}%{lasts}  {settings}")
    names = {"wer": "WER", "cer": "CER", "last_wer": f"last-{last} mean WER", "last_cer": f"last-{last} mean CER"}
    for group in result["seeds"]:
        n = len(group["runs"])
        rates = ", ".join(f"{name} {100 * s['mean']:.2f} % ± {100 * s['sd']:.2f} "
                          f"({100 * s['min']:.2f} to {100 * s['max']:.2f})"
                          for key, name in names.items() if (s := group.get(key)))
        settings = " ".join(_setting(k, v) for k, v in group["settings"].items()) or "the same settings"
        lines.append(f"{n} seeds of {settings}: dev {rates} (mean ± sd, range)")
    return "\n".join(lines)
