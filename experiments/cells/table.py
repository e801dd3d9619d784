"""Print the cell comparison tables of experiments/cells/README.md from a ``run.sh`` folder:
each ``adding*.json`` and one table per task from its ``TASK-CELL/`` run folders.

    python experiments/cells/table.py runs/cells
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from recognize.config import CELLS
from recognize.evaluation.history import headline, read_history, run_kind
from recognize.model.checkpoint import load_checkpoint


def adding_table(path: Path) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    a = report["args"]
    print(f"### Adding problem (T = {a['length']}, {a['steps']} steps of {a['batch']}, {a['hidden']} units, "
          f"{a['threads']} thread)\n")
    print("| cell | parameters | test MSE | solved | train steps/s | inference seq/s | "
          "log10 grad x_0/x_T at init | after training |")
    print("|---|---:|---:|:-:|---:|---:|---:|---:|")
    for r in report["rows"]:
        print(f"| {r['cell']} | {r['parameters']:,} | {r['test_mse']:.4f} | {'yes' if r['solved'] else 'no'} | "
              f"{r['train_steps_per_second']} | {r['inference_sequences_per_second']} | "
              f"{r['grad_log10_first_over_last_init']} | {r['grad_log10_first_over_last_trained']} |")
    print()


def task_table(task: str, runs: list[Path]) -> None:
    kind = run_kind(runs[0])
    speech = kind == "speech"
    key, unit = ("rtfx", "×real time") if speech else ("lines_per_second", "lines/s")
    print(f"### {task} ({len(read_history(runs[0]))} epochs)\n")
    first, second = ("wer", "cer") if speech else ("cer", "wer")  # the headline error first
    print(f"| cell | parameters | best dev {first.upper()} | {second.upper()} | at epoch | train loss then | "
          f"s/epoch (train + dev) | torch fp32 {unit} | ONNX int8 {unit} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        model, cfg, _ = load_checkpoint(run / "best.pt")
        history = read_history(run)
        best = min(history, key=lambda r: headline(r, kind))
        seconds = statistics.median(r["seconds"] for r in history)
        speeds = [json.loads((run / f"speed_{m}.json").read_text(encoding="utf-8"))[key]
                  for m in ("best.pt", "model.onnx")]
        print(f"| {cfg.model.cell} | {model.num_parameters():,} | {100 * best[first]:.2f} % | "
              f"{100 * best[second]:.2f} % | {best['epoch']} | {best['train_loss']:.1f} | {seconds:.0f} | "
              f"{speeds[0]:.0f} | {speeds[1]:.0f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the folder run.sh wrote (runs/cells)")
    args = parser.parse_args()
    for adding in sorted(args.run.glob("adding*.json")):
        adding_table(adding)
    tasks: dict[str, list[Path]] = {}
    for run in sorted(p.parent for p in args.run.glob("*-*/speed_model.onnx.json")):
        tasks.setdefault(run.name.rsplit("-", 1)[0], []).append(run)
    for task, runs in tasks.items():
        task_table(task, sorted(runs, key=lambda run: CELLS.index(run.name.rsplit("-", 1)[1])))


if __name__ == "__main__":
    main()
