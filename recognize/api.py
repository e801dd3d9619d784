"""The public Python API: load a model, transcribe files, evaluate a manifest."""

from __future__ import annotations

from pathlib import Path

from .decoding import Hypothesis


def load_model(path: str | Path | None = None, device: str = "cpu", threads: int = 0, decoder: str = "greedy",
               kind: str = "speech"):
    """A :class:`~recognize.recognizer.Recognizer` for ``path`` (default: the bundled model of ``kind``)."""
    from .models import default_model
    from .recognizer import Recognizer

    return Recognizer.load(path or default_model(kind), device=device, threads=threads, decoder=decoder)


def transcribe(paths, model=None) -> list[Hypothesis]:
    """Transcribe audio files; ``model`` is a Recognizer or a path (default: bundled)."""
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    return [hyp for _, hyp, _ in model.transcribe_files([str(p) for p in paths])]


def read(paths, model=None) -> list[Hypothesis]:
    """Recognize handwritten line images; ``model`` is a Recognizer or a path (default: bundled)."""
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model, kind="handwriting")
    return [hyp for _, hyp, _ in model.transcribe_files([str(p) for p in paths])]


def evaluate(manifest: str | Path, model=None) -> dict:
    """Corpus WER/CER of ``model`` on a manifest; see :func:`recognize.evaluate.evaluate_manifest`."""
    from .evaluate import evaluate_manifest

    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    return evaluate_manifest(model, manifest)
