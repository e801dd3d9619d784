"""``recognize export``: a checkpoint -> a self-describing ONNX model, fp32 or int8.

The graph (inputs and outputs, dynamic axes marked ``*``)::

    speech:       features (N*, T*, F) float32, lengths (N*,) int64
    handwriting:  images (N*, 1, H, W*) float32 (background 0, ink 1), lengths (N*,) int64
    ->            log_probs (N*, T'*, V) float32, out_lens (N*,) int64

It is exported with torch's TorchScript-based exporter (``dynamo=False``): that is the
one that turns the model's packed sequences into the ONNX LSTM's ``sequence_lens``, so
each item of a padded batch gives what it gives alone, both directions included.
``export/exporters.py`` measures both exporters; the dynamo exporter does not export
``pack_padded_sequence`` at all. Inputs shorter than ``min_frames`` (metadata) must be
padded up to it by the caller, as :class:`~recognize.recognizer.Recognizer` does.

``metadata_props`` carry everything the runtime needs, as strings: ``format``
(``recognize.onnx``), ``version``, ``kind``, ``input``, ``alphabet`` (JSON list, blank
first), ``config`` (JSON: kind, features, image, model), ``normalization`` (JSON mean
and std, informative: the graph applies them), ``frame_rate_reduction``,
``min_frames``, ``precision`` (``fp32`` or ``int8``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch

from .atomic import atomic_write
from .checkpoint import load_checkpoint
from .onnx_runtime import FORMAT, VERSION
INPUT_NAMES = {"speech": "features", "handwriting": "images"}


class _ImagesIn(torch.nn.Module):
    """Handwriting models take ``(N, W, H)``; the exported graph takes images ``(N, 1, H, W)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images, lengths):
        return self.model(images[:, 0].transpose(1, 2), lengths)


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's and quantizer's notes (Python warnings, logging, and C++
    warnings written straight to file descriptor 2) about things this export handles:
    the shape inference of packed sequences, quantization pre-processing."""
    saved = os.dup(2)
    logging.disable(logging.WARNING)
    try:
        with open(os.devnull, "w") as null, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        logging.disable(logging.NOTSET)


def metadata_of(cfg, alphabet, model, precision: str) -> dict[str, str]:
    """The ``metadata_props`` of an exported model (see the module docstring)."""
    config = {"kind": cfg.kind, "features": vars(cfg.features), "image": vars(cfg.image), "model": vars(cfg.model)}
    return {
        "format": FORMAT,
        "version": str(VERSION),
        "kind": cfg.kind,
        "input": INPUT_NAMES[cfg.kind],
        "alphabet": json.dumps(list(alphabet.symbols), ensure_ascii=False),
        "config": json.dumps(config),
        "normalization": json.dumps({"mean": model.normalizer.mean.tolist(), "std": model.normalizer.std.tolist()}),
        "frame_rate_reduction": str(cfg.model.subsample),
        "min_frames": str(cfg.model.min_frames),
        "precision": precision,
    }


def export_onnx(checkpoint: str | Path, output: str | Path, int8: bool = False) -> dict[str, str]:
    """Export ``checkpoint`` to ``output`` (written atomically); with ``int8``, weights of
    the LSTMs and linear layers are quantized to int8 (onnxruntime dynamic quantization).
    Returns the metadata written."""
    import onnx

    model, cfg, alphabet = load_checkpoint(checkpoint)
    name = INPUT_NAMES[cfg.kind]
    # two items of different lengths, longer than any frontend's minimum, so that the
    # traced graph takes the general path (padding, sorting, packing)
    t = max(64, 8 * cfg.model.min_frames)
    lengths = torch.tensor([t, t - 3 * cfg.model.min_frames], dtype=torch.int64)
    if cfg.kind == "speech":
        wrapped, example, time_axis = model, torch.randn(2, t, cfg.input_dim), 1
    else:
        wrapped, example, time_axis = _ImagesIn(model).eval(), torch.rand(2, 1, cfg.image.height, t), 3
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        with _quiet():
            torch.onnx.export(
                wrapped, (example, lengths), str(fp32), dynamo=False, opset_version=17,
                input_names=[name, "lengths"], output_names=["log_probs", "out_lens"],
                dynamic_axes={name: {0: "batch", time_axis: "time"}, "lengths": {0: "batch"},
                              "log_probs": {0: "batch", 1: "frames"}, "out_lens": {0: "batch"}},
            )
        path = fp32
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            path = Path(tmp) / "int8.onnx"
            # convolutions stay fp32: onnxruntime's int8 convolution is slower than fp32 on CPU
            with _quiet():
                quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["LSTM", "MatMul", "Gemm"])
        graph = onnx.load(str(path))
        metadata = metadata_of(cfg, alphabet, model, "int8" if int8 else "fp32")
        del graph.metadata_props[:]
        for key, value in metadata.items():
            graph.metadata_props.add(key=key, value=value)
        atomic_write(output, lambda out: onnx.save(graph, str(out)))
    return metadata
