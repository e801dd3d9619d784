"""CPU speed of the bundled models on torch eager fp32, onnxruntime fp32 and onnxruntime
int8, measured in one run on the same inputs.

    python export/benchmark.py [--speech data/an4/dev.jsonl] [--handwriting data/copiste/val.jsonl]
                               [--lines 100] [--threads 1 2] [--batch 1 8] [--repeats 3]
                               [--checkpoint runs/an4/best.pt ...]

Each row times the model and greedy decoding over the whole input set (features and
images are computed once, before timing; their own cost is printed apart): the median
of --repeats passes. Then the shipped model file runs as `recognize` runs it, files
read and decoded, greedy against its default decoding (the beam search and LM of its
.decoding.json). Speech rows give RTFx (audio seconds per wall second; the
real-time factor is its inverse), handwriting rows lines per second. GFLOP/s counts
the useful multiply-adds of the convolutions, recurrent and linear layers (each item alone,
no padding) per wall second, against the peak of a 2048 x 2048 fp32 matmul at the same
thread count, measured in this run. The manifests default to the dev splits the recipes
prepare; without them the committed samples are used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from recognize.inputs.manifest import read_manifest
from recognize.models import bundled_models
from recognize.runtime.loading import load_model
from recognize.runtime.onnx_export import export_onnx

ROOT = Path(__file__).resolve().parents[1]


def matmul_peak(threads: int, n: int = 2048) -> float:
    """GFLOP/s of an n x n fp32 matmul on ``threads`` threads: the best of 10 on torch and
    10 on onnxruntime (their kernels differ; the peak is the faster)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a, b = np.random.default_rng(0).standard_normal((2, n, n), dtype=np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx.helper.make_model(graph).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    torch.set_num_threads(threads)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    best = float("inf")
    for run in [lambda: ta @ tb] * 10 + [lambda: session.run(None, {"a": a, "b": b})] * 10:
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it."""
    import platform

    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def useful_flops(model: torch.nn.Module, inputs: list[np.ndarray]) -> float:
    """Multiply-add FLOPs of the model's convolutions, recurrent and linear layers over
    ``inputs``, each run alone (so padding is not counted)."""
    total = 0.0

    def conv(module, _, out):
        nonlocal total
        total += 2 * out.numel() * module.in_channels // module.groups * np.prod(module.kernel_size)

    def linear(module, _, out):
        nonlocal total
        total += 2 * out.numel() * module.in_features

    def recurrent(module, args, _):  # torch's LSTM, GRU and RNN: 4, 3 and 1 gate matrices
        nonlocal total
        gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
        frames = int(args[0].batch_sizes.sum()) if hasattr(args[0], "batch_sizes") else args[0].shape[:2].numel()
        h, out = module.hidden_size, module.proj_size or module.hidden_size
        for layer in range(module.num_layers):
            width = module.input_size if layer == 0 else 2 * out
            per_direction = 2 * gates * h * (width + out) + (2 * h * out if module.proj_size else 0)
            total += 2 * frames * per_direction

    hooks = []
    for m in model.modules():
        kind = conv if isinstance(m, torch.nn.Conv2d) else linear if isinstance(m, torch.nn.Linear) else \
            recurrent if isinstance(m, torch.nn.RNNBase) else None
        if kind:
            hooks.append(m.register_forward_hook(kind))
    with torch.inference_mode():
        for x in inputs:
            model(torch.from_numpy(x)[None], torch.tensor([len(x)]))
    for h in hooks:
        h.remove()
    return total


def time_runtime(recognizer, inputs: list[np.ndarray], units, batch: int, repeats: int) -> float:
    """Median wall seconds to run and decode all ``inputs`` in length-sorted batches."""
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for b in range(0, len(order), batch):
            chunk = order[b : b + batch]
            recognizer.decode_features([inputs[i] for i in chunk], [units[i] for i in chunk])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def decoding_rows(onnx: Path, kind: str, files: list[str], amount: float, threads: list[int], repeats: int) -> None:
    """The int8 ``onnx`` file as ``recognize`` runs it over ``files`` (reading, features,
    batches of 16, decoding): greedy against the model's default decoding (its
    .decoding.json; greedy without one), at each thread count; the median of ``repeats``
    passes."""
    speed = "RTFx" if kind == "speech" else "lines/s"
    print(f"\n{onnx.name}, files read and decoded as `recognize` does:")
    print(f"| decoding | threads | {speed} |\n|---|---|---|")
    for count in threads:
        for decoder in ("greedy", "auto"):
            recognizer = load_model(onnx, threads=count, decoder=decoder)
            walls = []
            for _ in range(repeats):
                started = time.perf_counter()
                for _ in recognizer.transcribe_files(files):
                    pass
                walls.append(time.perf_counter() - started)
            label = "greedy" if decoder == "greedy" else f"default: {recognizer.decoder_name}"
            print(f"| {label} | {count} | {amount / statistics.median(walls):.1f} |")
            sys.stdout.flush()


def int8_model(info: dict, tmp: Path) -> Path:
    """The bundled ONNX file when it is int8 (as shipped), else an int8 export of the checkpoint."""
    onnx = info.get("onnx")
    if onnx and load_model(onnx, decoder="greedy").session.get_modelmeta().custom_metadata_map["precision"] == "int8":
        return Path(onnx)
    path = tmp / f"{Path(info['name']).stem}.int8.onnx"
    export_onnx(info["checkpoint"], path, int8=True)
    return path


def input_files(kind: str, manifest: str | None, lines: int) -> list[str]:
    if manifest and Path(manifest).exists():
        rows = read_manifest(manifest)
        key = "audio" if kind == "speech" else "image"
        if kind == "handwriting" and len(rows) > lines:  # evenly spaced, across all writers
            rows = [rows[round(i * (len(rows) - 1) / (lines - 1))] for i in range(lines)]
        return [r[key] for r in rows]
    pattern, folder = ("*.wav", ROOT / "samples") if kind == "speech" else ("*.png", ROOT / "tests/data/copiste")
    return sorted(str(p) for p in folder.glob(pattern))


STARTS = [  # what a user types: a command, timed whole (interpreter, imports, model, LM, output)
    ["transcribe", "samples/cen8-mmtm-b.wav", "--threads", "1"],
    ["read", "tests/data/copiste/imp_wikitexte_0022_004.png", "--threads", "1"],
    ["read", "samples/wikitexte_0063.jpg", "--threads", "1"],
    ["models"],
]
PEAK = """
import re, sys
from recognize.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) // 1024, file=sys.stderr)
"""


def command_starts(repeats: int) -> None:
    """Wall time (median of ``repeats``) and peak memory of each command in ``STARTS``,
    each in a fresh process, as a user meets them."""
    import subprocess

    print("\n| command | wall (median) | peak memory |\n|---|---|---|")
    for command in STARTS:
        walls, peak = [], 0
        for _ in range(repeats):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", PEAK, *command], cwd=ROOT, capture_output=True, text=True)
            walls.append(time.perf_counter() - started)
            peak = max(peak, int(done.stderr.strip().splitlines()[-1]))
        print(f"| recognize {' '.join(command)} | {statistics.median(walls):.2f} s | {peak} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speech", default="data/an4/dev.jsonl", help="manifest of audio (default: AN4 dev)")
    parser.add_argument("--handwriting", default="data/copiste/val.jsonl",
                        help="manifest of line images (default: Copiste validation)")
    parser.add_argument("--lines", type=int, default=100, help="handwriting lines to use, evenly spaced")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--starts-only", action="store_true", help="only the commands' start-up time and memory")
    parser.add_argument("--checkpoint", nargs="+", metavar="CKPT",
                        help="time these checkpoints (a training run's best.pt) instead of the bundled models")
    args = parser.parse_args()
    if args.starts_only:
        command_starts(args.repeats)
        return

    import os

    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {cpu_model()}, "
          f"{os.cpu_count()} CPUs")
    peaks = {t: matmul_peak(t) for t in args.threads}
    print("fp32 matmul peak (best of torch and onnxruntime, this run): "
          + ", ".join(f"{peaks[t]:.0f} GFLOP/s on {t} thread(s)" for t in args.threads))
    tmp = Path(tempfile.mkdtemp())
    models = bundled_models() if not args.checkpoint else [{"name": path, "checkpoint": path} for path in args.checkpoint]
    for info in models:
        name, torch_model = info["name"], load_model(info["checkpoint"], decoder="greedy")
        kind = torch_model.kind.name
        files = input_files(kind, args.speech if kind == "speech" else args.handwriting, args.lines)
        started = time.perf_counter()
        read = [torch_model.features(f) for f in files]
        prep = time.perf_counter() - started
        inputs, extents, units = zip(*read)
        flops = useful_flops(torch_model.model, inputs)
        fp32 = tmp / f"{Path(name).stem}.fp32.onnx"
        export_onnx(info["checkpoint"], fp32)
        int8 = int8_model(info, tmp)
        amount = sum(extents) if kind == "speech" else len(files)
        what = f"{amount:.1f} s of audio" if kind == "speech" else f"{amount} lines"
        print(f"\n{name} ({kind}, {torch_model.model.num_parameters():,} parameters): {len(files)} files, {what}, "
              f"{flops / 1e9:.2f} GFLOP; reading + features: {prep:.2f} s")
        speed = "RTFx" if kind == "speech" else "lines/s"
        print(f"| runtime | threads | batch | {speed} | GFLOP/s | % of peak |\n|---|---|---|---|---|---|")
        results = {}
        for threads in args.threads:
            torch.set_num_threads(threads)
            runtimes = {"torch eager fp32": torch_model, "onnxruntime fp32": load_model(fp32, threads=threads, decoder="greedy"),
                        "onnxruntime int8": load_model(int8, threads=threads, decoder="greedy")}
            for label, recognizer in runtimes.items():
                for batch in args.batch:
                    wall = time_runtime(recognizer, list(inputs), units, batch, args.repeats)
                    results[label, threads, batch] = amount / wall
                    print(f"| {label} | {threads} | {batch} | {amount / wall:.1f} | {flops / wall / 1e9:.1f} | "
                          f"{100 * flops / wall / 1e9 / peaks[threads]:.0f} % |")
                    sys.stdout.flush()
        for threads in args.threads:
            ratio = results["onnxruntime int8", threads, 1] / results["torch eager fp32", threads, 1]
            print(f"onnxruntime int8 / torch eager fp32 at batch 1, {threads} thread(s): {ratio:.2f}x")
        decoding_rows(int8, kind, files, amount, args.threads, args.repeats)
    command_starts(args.repeats)


if __name__ == "__main__":
    main()
