"""The handwriting model's convolutional frontend in int8, measured against the bundled file.

`recognize export --int8` quantizes the LSTM and linear weights dynamically and leaves
the convolutions in fp32. This builds the other choice: onnxruntime static quantization
(QOperator) of the frontend's blocks (convolution, LeakyReLU, max-pool, padding mask),
their activation ranges measured on N training lines evenly spaced, then the LSTMs as
today. It prints, for that file and the bundled one, greedy and default-decoding CER/WER
on the validation writers and the CPU seconds of the forward pass over them on one
thread (the two alternated, median of --repeats). Reported in docs/onnx-and-speed.md.

    python experiments/int8_frontend.py --calibration 512 256
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

from recognize.evaluation.evaluate import evaluate_manifest
from recognize.inputs.manifest import media_path, read_manifest
from recognize.runtime.loading import load_model
from recognize.runtime.onnx_export import export_onnx

BUNDLED = Path(__file__).resolve().parents[1] / "recognize" / "models" / "copiste"


class Lines(CalibrationDataReader):
    """The graph inputs of ``rows``, 16 lines at a time, for onnxruntime's calibration."""

    def __init__(self, recognizer, rows):
        feats = [recognizer.features(media_path(row))[0] for row in rows]
        self.left = iter([recognizer.pad(feats[b : b + 16]) for b in range(0, len(feats), 16)])

    def get_next(self):
        batch = next(self.left, None)
        if batch is None:
            return None
        images, lengths = batch
        return {"images": images.transpose(0, 2, 1)[:, None].copy(), "lengths": lengths}


def int8_frontend(folder: Path, train: list[dict], n: int) -> Path:
    """An int8 export of the bundled checkpoint with its frontend quantized statically."""
    import onnx

    fp32, frontend, out = folder / "fp32.onnx", folder / "frontend.onnx", folder / f"int8-frontend-{n}.onnx"
    export_onnx(BUNDLED / "model.pt", fp32)
    recognizer = load_model(fp32, threads=1, decoder="greedy")
    reader = Lines(recognizer, train[:: max(1, len(train) // n)][:n])
    graph = onnx.load(str(fp32))
    nodes = [node.name for node in graph.graph.node if "/frontend/" in node.name
             and node.op_type in ("Conv", "LeakyRelu", "MaxPool", "Mul")]
    quantize_static(str(fp32), str(frontend), reader, quant_format=QuantFormat.QOperator, nodes_to_quantize=nodes,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    quantize_dynamic(str(frontend), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM", "MatMul", "Gemm"])
    model = onnx.load(str(out))
    model.metadata_props.extend(graph.metadata_props)
    onnx.save(model, str(out))
    print(f"{out.name}: {sum(node.op_type == 'QLinearConv' for node in model.graph.node)} convolutions in int8")
    for name in ("model.decoding.json", "lm.arpa.gz", "french_words.txt"):  # the bundled decoding, beside the file
        target = out.with_suffix(".decoding.json") if name.endswith(".json") else folder / name
        target.write_bytes((BUNDLED / name).read_bytes())
    return out


def forward_seconds(models: dict[str, Path], rows: list[dict], repeats: int) -> dict[str, float]:
    """CPU seconds of each model's batched forward pass over ``rows``, alternated, median."""
    recognizers = {name: load_model(path, threads=1, decoder="greedy") for name, path in models.items()}
    feats = [next(iter(recognizers.values())).features(media_path(row))[0] for row in rows]
    seconds = {name: [] for name in models}
    for _ in range(repeats):
        for name, recognizer in recognizers.items():
            start = time.process_time()
            for _ in recognizer.batches(feats):
                pass
            seconds[name].append(time.process_time() - start)
    return {name: statistics.median(s) for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/copiste", help="prepared Copiste manifests")
    parser.add_argument("--calibration", type=int, nargs="+", default=[512], help="training lines to calibrate on")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the quantizer's advice on pre-processing, for every file
    val = Path(args.data) / "val.jsonl"
    train = read_manifest(Path(args.data) / "train.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        models = {"bundled (fp32 frontend)": BUNDLED / "model.onnx"}
        models |= {f"int8 frontend, {n} lines": int8_frontend(Path(tmp), train, n) for n in args.calibration}
        seconds = forward_seconds(models, read_manifest(val), args.repeats)
        base = seconds["bundled (fp32 frontend)"]
        print("| model | greedy CER | greedy WER | default CER | default WER | forward, × bundled |")
        print("|---|---|---|---|---|---|")
        for name, path in models.items():
            greedy, default = (evaluate_manifest(load_model(path, threads=1, decoder=d), val)["summary"]
                               for d in ("greedy", "auto"))
            print(f"| {name} | {100 * greedy['cer']:.2f} % | {100 * greedy['wer']:.2f} % | {100 * default['cer']:.2f} % "
                  f"| {100 * default['wer']:.2f} % | {base / seconds[name]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
