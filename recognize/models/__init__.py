"""Models that ship inside the package. Each folder holds ``model.onnx`` (what runs by
default, on onnxruntime), ``model.pt`` (the checkpoint it was exported from, to
fine-tune) and ``MODEL_CARD.md``."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError

HERE = Path(__file__).parent
BUNDLED = {"an4": "speech", "copiste": "handwriting"}  # name -> kind; the first of each kind is its default
KINDS = ("speech", "handwriting")


def bundled(name: str, file: str = "model.onnx") -> Path:
    """Path of a bundled model's ``model.onnx`` (or ``model.pt``)."""
    path = HERE / name / file
    if not path.exists():
        raise ModelError(f"bundled model '{name}' is missing from this installation ({path})")
    return path


def default_model(kind: str = "speech") -> Path:
    """The bundled ONNX model used for ``kind`` when no ``--model`` is given."""
    for name, its_kind in BUNDLED.items():
        if its_kind == kind:
            return bundled(name)
    raise ModelError(f"no {kind} model is bundled: pass --model MODEL")


def bundled_models() -> list[dict]:
    """``[{"name", "kind", "default", "onnx", "checkpoint", "card"}]``, absolute paths."""
    defaults = {kind: next((n for n, k in BUNDLED.items() if k == kind), None) for kind in KINDS}
    return [
        {"name": name, "kind": kind, "default": defaults[kind] == name,
         "onnx": str(bundled(name).resolve()), "checkpoint": str(bundled(name, "model.pt").resolve()),
         "card": str((HERE / name / "MODEL_CARD.md").resolve())}
        for name, kind in BUNDLED.items()
    ]
