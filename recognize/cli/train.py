"""``recognize train``, ``runs``, ``plot`` and ``average``: training runs and what they left."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import count


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train a model. Under torchrun (torchrun --nproc_per_node=K -m recognize train "
                                   "...) each process trains on every K-th batch with DistributedDataParallel.")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (sets train.device; under torchrun cuda means "
                                    "cuda:LOCAL_RANK)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=3e-4 (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder: checkpoints, metrics.jsonl, config.yaml")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="fine-tune from a checkpoint, even with another alphabet (train.init_alphabet: union or "
                        "new; train.freeze_frontend_steps)")
    p.set_defaults(func=run_train)


def run_train(args) -> int:
    from ..config import load_config
    from ..distributed import from_env
    from ..training.loop import train

    overrides = args.set + ([f"train.init={args.init}"] if args.init else []) + (
        [f"train.device={args.device}"] if args.device else [])
    cfg = load_config(args.config, overrides)
    best = train(cfg, args.out, resume=args.resume)
    if from_env().main:
        print(f"best epoch {best['epoch']}: dev WER {100 * best['wer']:.2f} %, CER {100 * best['cer']:.2f} % "
              f"-> {args.out}/best.pt")
    return 0


def add_runs(sub) -> None:
    p = sub.add_parser("runs", help="training runs side by side; seeds of one setting as mean and spread",
                       description="Best epoch and dev WER/CER of each run folder, the settings in which the runs "
                                   "differ, and, for runs that differ only in their seed (or threads, device), "
                                   "the mean, standard deviation and range over those seeds.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="training run folders (config.yaml, metrics.jsonl)")
    p.add_argument("--last", type=int, default=0, metavar="N",
                   help="also the mean dev WER/CER of each run's last N epochs, chosen by no dev figure "
                        "(the best epoch is the luckiest of many on a small dev set)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_runs)


def run_runs(args) -> int:
    from ..errors import RecognizeError
    from ..evaluation.runs import compare_runs, format_runs, read_run

    if args.last < 0:
        raise RecognizeError(f"runs: --last must be 0 or more epochs, not {args.last}")
    runs, failed = [], 0
    for path in args.runs:  # a folder that is not a run is reported; the others are compared
        try:
            runs.append(read_run(path, args.last))
        except RecognizeError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
    if runs:
        result = compare_runs(runs)
        print(json.dumps(result, ensure_ascii=False) if args.json else format_runs(result, args.last))
    return 1 if failed else 0


def add_plot(sub) -> None:
    p = sub.add_parser("plot", help="training loss and dev error curves of a run folder")
    p.add_argument("run", metavar="RUN", help="a training run folder (with metrics.jsonl)")
    p.add_argument("-o", "--output", metavar="PNG", help="default: RUN/curves.png")
    p.set_defaults(func=run_plot)


def run_plot(args) -> int:
    from ..atomic import atomic_write
    from ..evaluation.history import read_history
    from ..evaluation.plots import training_curves

    run = Path(args.run)
    output = Path(args.output or run / "curves.png")
    png = training_curves(read_history(run), str(run))
    atomic_write(output, lambda tmp: tmp.write_bytes(png))
    print(f"wrote {output}")
    return 0


def add_average(sub) -> None:
    p = sub.add_parser("average", help="average the weights of several epochs of a run",
                       description="Average checkpoints: given files, or a run folder's last or best N epoch "
                                   "snapshots (epochN.pt, kept by train.keep_epochs).")
    p.add_argument("checkpoints", nargs="*", metavar="CHECKPOINT")
    p.add_argument("--run", metavar="DIR", help="a run folder (with metrics.jsonl and epochN.pt snapshots)")
    p.add_argument("--last", type=count(0), default=0, metavar="N", help="with --run: its last N epochs")
    p.add_argument("--best", type=count(0), default=0, metavar="N", help="with --run: its N epochs of lowest dev error")
    p.add_argument("-o", "--output", required=True, metavar="OUT.pt")
    p.set_defaults(func=run_average)


def run_average(args) -> int:
    from ..errors import RecognizeError
    from ..training.averaging import average_checkpoints, pick_epochs

    if bool(args.checkpoints) == bool(args.run):
        raise RecognizeError("average: give checkpoint files, or --run DIR with --last N or --best N")
    if args.run and bool(args.last) == bool(args.best):
        raise RecognizeError("average: --run needs one of --last N and --best N")
    paths = args.checkpoints or pick_epochs(args.run, args.last, args.best)
    average_checkpoints(paths, args.output)
    print(f"averaged {', '.join(Path(p).name for p in paths)} -> {args.output}")
    return 0
