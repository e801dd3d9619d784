"""Evidence for the exporter `recognize export` uses: torch's two ONNX exporters on a
bundled checkpoint, each judged on a padded batch of real inputs.

    python export/exporters.py [--checkpoint recognize/models/an4/model.pt]

For each exporter (``dynamo=False``, the TorchScript tracer; ``dynamo=True``, torch.export)
it prints whether the export succeeds, how long it takes, and for the exported graph
on onnxruntime: the largest |log-prob difference| against torch on each item alone,
with the items in one padded batch, and whether the output time axis stays dynamic.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from recognize.model.checkpoint import load_checkpoint
from recognize.runtime.recognizer import Recognizer

ROOT = Path(__file__).resolve().parents[1]


def export(model, example, path: Path, dynamo: bool) -> None:
    names = dict(input_names=["features", "lengths"], output_names=["log_probs", "out_lens"])
    if dynamo:
        batch, time_ = torch.export.Dim("batch"), torch.export.Dim("time", min=8)
        torch.onnx.export(model, example, str(path), dynamo=True, **names,
                          dynamic_shapes=({0: batch, 1: time_}, {0: batch}))
    else:
        torch.onnx.export(model, example, str(path), dynamo=False, opset_version=17, **names,
                          dynamic_axes={"features": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                                        "log_probs": {0: "batch", 1: "frames"}, "out_lens": {0: "batch"}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "recognize/models/an4/model.pt"))
    args = parser.parse_args()
    model, cfg, _ = load_checkpoint(args.checkpoint)
    if cfg.kind != "speech":
        raise SystemExit("give a speech checkpoint: the comparison feeds it the committed audio samples")
    reader = Recognizer(cfg, None)
    inputs = [reader.features(p)[0] for p in sorted((ROOT / "samples").glob("*.wav"))]
    inputs += [inputs[0][:60], inputs[1][:150]]
    lengths = np.array([len(x) for x in inputs])
    batch = np.zeros((len(inputs), lengths.max(), inputs[0].shape[1]), np.float32)
    for i, x in enumerate(inputs):
        batch[i, : len(x)] = x
    with torch.inference_mode():
        alone = [model(torch.from_numpy(x)[None], torch.tensor([len(x)]))[0][0].numpy() for x in inputs]
    example = (torch.randn(2, 100, cfg.input_dim), torch.tensor([100, 80]))
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}; {len(inputs)} real inputs of "
          f"{lengths.min()}-{lengths.max()} frames in one padded batch")
    with tempfile.TemporaryDirectory() as tmp:
        for dynamo in (False, True):
            label, path = f"dynamo={dynamo}", Path(tmp) / f"dynamo{dynamo}.onnx"
            started = time.perf_counter()
            try:
                export(model, example, path, dynamo)
            except Exception as e:
                cause = e.__cause__ or e  # torch.onnx wraps the torch.export error
                print(f"{label}: export fails after {time.perf_counter() - started:.1f} s: "
                      f"{type(cause).__name__}: {str(cause).strip().splitlines()[0][:240]}")
                continue
            seconds = time.perf_counter() - started
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            log_probs, out_lens = session.run(None, {"features": batch, "lengths": lengths.astype(np.int64)})
            error = max(np.abs(log_probs[i, :n] - a).max() for i, (n, a) in enumerate(zip(out_lens, alone)))
            frames = session.get_outputs()[0].shape[1]
            print(f"{label}: exported in {seconds:.1f} s; padded batch vs torch alone: max |d log-prob| "
                  f"{error:.2e}; output time axis: {frames!r}")


if __name__ == "__main__":
    main()
