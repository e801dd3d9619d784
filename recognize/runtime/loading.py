"""Where models are loaded, and so where the runtime is chosen: ``.onnx`` runs on
onnxruntime (no torch), anything else is a checkpoint on torch."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from ..kinds import SPEECH


def model_path(model: str | Path | None, kind=SPEECH) -> Path:
    """The file ``model`` stands for: a bundled model's name (``an4``, ``copiste``), a
    path, or None for the bundled model of ``kind``."""
    from ..models import BUNDLED, bundled, default_model

    if model is None:
        return default_model(str(kind))
    if str(model) in BUNDLED and not Path(model).exists():
        return bundled(str(model))
    path = Path(model)
    if not path.exists() and not path.suffix:  # a name that is not one of ours
        raise ModelError(f"{model}: no such model file, and no bundled model of that name "
                         f"(bundled: {', '.join(BUNDLED)}; `recognize models` lists them)")
    return path


def load_model(model: str | Path | None = None, kind=SPEECH, device: str = "cpu", threads: int = 0,
               decoder="auto"):
    """A :class:`~recognize.runtime.recognizer.Recognizer` for ``model`` (see :func:`model_path`).

    ``threads``: CPU threads (0: the runtime's default); ``device``: checkpoints only
    (``cpu``, ``cuda``, ``cuda:N``, ``auto``); ``decoder``: a decoder spec
    (:mod:`recognize.decoding.spec`), by default the model's tuned decoding, else greedy.
    """
    path = model_path(model, kind)
    if path.suffix == ".onnx":
        if device not in ("cpu", "auto"):
            raise ModelError(f"{path}: ONNX models run on the CPU (--device {device} needs a checkpoint)")
        from .onnx_backend import OnnxRecognizer

        return OnnxRecognizer.load(path, threads=threads, decoder=decoder)
    try:
        from .torch_backend import TorchRecognizer
    except ImportError:
        raise ModelError(f"{path}: checkpoints need PyTorch (pip install 'recognize[torch]'); "
                         "an .onnx model runs without it") from None
    return TorchRecognizer.load(path, device=device, threads=threads, decoder=decoder)
