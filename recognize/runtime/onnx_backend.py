"""Exported models on onnxruntime: the :class:`~.recognizer.Recognizer` for
``.onnx`` files. Imports no torch: ``pip install recognize`` is enough to run it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config import from_dict, validate
from ..errors import ConfigError, ModelError
from ..inputs.text import Alphabet
from .recognizer import Recognizer

FORMAT, VERSION = "recognize.onnx", 1  # as written by recognize.export
REQUIRED = ("format", "version", "kind", "input", "alphabet", "config")


def read_metadata(session, path: Path) -> dict[str, str]:
    """The model's ``metadata_props``; :class:`ModelError` unless it is a recognize export."""
    meta = session.get_modelmeta().custom_metadata_map
    missing = [key for key in REQUIRED if key not in meta]
    if missing or meta["format"] != FORMAT:
        raise ModelError(f"{path}: an ONNX model without recognize metadata (missing: {', '.join(missing) or 'format'}); "
                         "make one with `recognize export CHECKPOINT -o MODEL.onnx`")
    if not meta["version"].isdigit() or int(meta["version"]) > VERSION:
        raise ModelError(f"{path}: ONNX format version {meta['version']} is not one this recognize reads ({VERSION})")
    return meta


def session_options(threads: int = 0):
    """The onnxruntime settings every session here uses (``threads`` 0: onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # idle threads sleep instead of spinning: spinning threads cost 5-20x on a shared machine
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # fold the DequantizeLinear of weights stored in int8 (GRU, RNN) into fp32 weights at
    # load time instead of running it on every call; the int8 LSTM and MatMul kernels do
    # not use that (QDQ) format, so nothing else changes
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    options.log_severity_level = 3
    return options


class OnnxRecognizer(Recognizer):
    """An onnxruntime CPU session plus the config and alphabet from its metadata."""

    def __init__(self, session, cfg, alphabet, decoder="greedy", path=None):
        super().__init__(cfg, alphabet, decoder, path)
        self.session = session

    @classmethod
    def load(cls, path: str | Path, threads: int = 0, decoder="greedy") -> "OnnxRecognizer":
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        try:
            session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for unreadable or invalid graphs
            # its message ends with the reason, after the C++ location: "...failed:<where> <reason>"
            reason = str(e).strip().split("failed:")[-1].split(") ")[-1]
            raise ModelError(f"{path}: not a readable ONNX model ({reason})") from None
        meta = read_metadata(session, path)
        try:
            cfg = validate(from_dict(json.loads(meta["config"])))
            alphabet = Alphabet(json.loads(meta["alphabet"]))
        except (ConfigError, ValueError, TypeError) as e:
            raise ModelError(f"{path}: inconsistent recognize metadata ({e})") from None
        inputs = [i.name for i in session.get_inputs()]
        if cfg.kind != meta["kind"] or inputs != [meta["input"], "lengths"]:
            raise ModelError(f"{path}: the graph's inputs {inputs} do not match its metadata")
        return cls(session, cfg, alphabet, decoder=decoder, path=path)

    def forward(self, batch: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.kind.model_input == "images":  # (N, W, H) -> (N, 1, H, W)
            batch = np.ascontiguousarray(batch.transpose(0, 2, 1)[:, None])
        log_probs, out_lens = self.session.run(["log_probs", "out_lens"], {self.kind.model_input: batch,
                                                                           "lengths": lengths})
        return log_probs, out_lens
