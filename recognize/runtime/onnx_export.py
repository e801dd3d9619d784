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

from ..atomic import atomic_write
from ..kinds import kind_named
from ..model.checkpoint import load_checkpoint
from .onnx_backend import FORMAT, VERSION


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
        "input": kind_named(cfg.kind).model_input,
        "alphabet": json.dumps(list(alphabet.symbols), ensure_ascii=False),
        "config": json.dumps(config),
        "normalization": json.dumps({"mean": model.normalizer.mean.tolist(), "std": model.normalizer.std.tolist()}),
        "frame_rate_reduction": str(cfg.model.subsample),
        "min_frames": str(cfg.model.min_frames),
        "precision": precision,
    }


def store_recurrent_weights_in_int8(graph) -> None:
    """Store in int8 the weights (``W`` and ``R``) of the recurrent nodes that onnxruntime's
    dynamic quantization leaves in fp32 (GRU and RNN: it has an int8 kernel for the LSTM
    only, peepholes and all), one symmetric scale per output row, each followed by a
    ``DequantizeLinear`` (and a ``Reshape`` back to ``(directions, gates * hidden, input)``).
    The file shrinks by about 4x; the runtime folds them back to fp32 weights when it loads
    (``session.disable_quant_qdq``), so they cost nothing per call."""
    import numpy as np
    from onnx import helper, numpy_helper

    initializers = {t.name: t for t in graph.initializer}
    dequantize = []
    for node in graph.node:
        if node.op_type not in ("GRU", "RNN", "LSTM"):
            continue
        for name in node.input[1:3]:
            if name not in initializers:
                continue
            weight = numpy_helper.to_array(initializers[name])
            rows = weight.reshape(-1, weight.shape[-1])
            scale = (np.abs(rows).max(axis=1) / 127).clip(min=1e-12).astype(np.float32)
            graph.initializer.remove(initializers[name])
            graph.initializer.extend([
                numpy_helper.from_array(np.round(rows / scale[:, None]).astype(np.int8), f"{name}.int8"),
                numpy_helper.from_array(scale, f"{name}.scale"),
                numpy_helper.from_array(np.zeros(len(scale), np.int8), f"{name}.zero"),
                numpy_helper.from_array(np.array(weight.shape, np.int64), f"{name}.shape"),
            ])
            dequantize += [
                helper.make_node("DequantizeLinear", [f"{name}.int8", f"{name}.scale", f"{name}.zero"],
                                 [f"{name}.rows"], axis=0),
                helper.make_node("Reshape", [f"{name}.rows", f"{name}.shape"], [name]),
            ]
    for node in reversed(dequantize):  # first in the graph, which must stay topologically sorted
        graph.node.insert(0, node)


def export_onnx(checkpoint: str | Path, output: str | Path, int8: bool = False) -> dict[str, str]:
    """Export ``checkpoint`` to ``output`` (written atomically); with ``int8``, weights of
    the LSTMs and linear layers are quantized to int8 (onnxruntime dynamic quantization)
    and those of the other recurrent cells are stored in int8
    (:func:`store_recurrent_weights_in_int8`).
    Returns the metadata written."""
    import onnx

    model, cfg, alphabet = load_checkpoint(checkpoint)
    name = kind_named(cfg.kind).model_input
    # two items of different lengths, longer than any frontend's minimum, so that the
    # traced graph takes the general path (padding, sorting, packing)
    t = max(64, 8 * cfg.model.min_frames)
    lengths = torch.tensor([t, t - 3 * cfg.model.min_frames], dtype=torch.int64)
    if name == "features":
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
        if int8:
            store_recurrent_weights_in_int8(graph.graph)
        metadata = metadata_of(cfg, alphabet, model, "int8" if int8 else "fp32")
        del graph.metadata_props[:]
        for key, value in metadata.items():
            graph.metadata_props.add(key=key, value=value)
        atomic_write(output, lambda out: onnx.save(graph, str(out)))
    return metadata
