"""Models that ship inside the package (each folder: ``model.pt`` and ``MODEL_CARD.md``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError

HERE = Path(__file__).parent
# The model used when --model is not given. No handwriting model ships yet:
# recipes/copiste trains one.
DEFAULTS = {"speech": "an4"}


def bundled(name: str) -> Path:
    """Path of a bundled model's checkpoint."""
    path = HERE / name / "model.pt"
    if not path.exists():
        raise ModelError(f"bundled model '{name}' is missing from this installation ({path})")
    return path


def default_model(kind: str = "speech") -> Path:
    if kind not in DEFAULTS:
        raise ModelError(f"no {kind} model is bundled yet: pass --model CHECKPOINT (recipes/copiste trains one)")
    return bundled(DEFAULTS[kind])
