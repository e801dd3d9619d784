"""The public Python API: load a model, transcribe files, align known transcripts, evaluate a manifest."""

from __future__ import annotations

from pathlib import Path

from .decoding import Hypothesis


def load_model(path: str | Path | None = None, device: str = "cpu", threads: int = 0, decoder="auto",
               kind: str = "speech"):
    """A :class:`~recognize.recognizer.Recognizer` for ``path`` (default: the bundled model of ``kind``)."""
    from .models import default_model
    from .recognizer import Recognizer

    return Recognizer.load(path or default_model(kind), device=device, threads=threads, decoder=decoder)


def _recognizer(model, kind: str):
    """``model`` as a Recognizer: one already loaded, a path, or None for the bundled model of ``kind``."""
    return load_model(model, kind=kind) if model is None or isinstance(model, (str, Path)) else model


def transcribe(paths, model=None) -> list[Hypothesis]:
    """Transcribe audio files; ``model`` is a Recognizer or a path (default: bundled)."""
    return [hyp for _, hyp, _ in _recognizer(model, "speech").transcribe_files([str(p) for p in paths])]


def read(paths, model=None) -> list[Hypothesis]:
    """Recognize handwritten line images; ``model`` is a Recognizer or a path (default: bundled)."""
    return [hyp for _, hyp, _ in _recognizer(model, "handwriting").transcribe_files([str(p) for p in paths])]


def align(pairs, model=None) -> list[Hypothesis]:
    """Place known transcripts on their files: ``pairs`` of (audio or line image path,
    text) -> one Hypothesis each, its words timed (speech) or its characters placed
    (``tokens``, in ``frame_unit`` pixels); ``model`` is a Recognizer or a path
    (default: the bundled model for the files' kind). Raises
    :class:`~recognize.errors.RecognizeError` naming the first pair that cannot be aligned."""
    from .alignment import align_rows
    from .transcription import FOLDER_SUFFIXES

    pairs = [(str(path), text) for path, text in pairs]
    images = all(path.lower().endswith(FOLDER_SUFFIXES["handwriting"]) for path, _ in pairs)
    kind = "handwriting" if pairs and images else "speech"
    key = "image" if kind == "handwriting" else "audio"
    rows = [{"id": str(i), key: path, "text": text} for i, (path, text) in enumerate(pairs)]
    return [hyp for _, hyp, _ in align_rows(_recognizer(model, kind), rows)]


def evaluate(manifest: str | Path, model=None) -> dict:
    """Corpus WER/CER of ``model`` on a manifest (default: the bundled model for its kind of
    rows); see :func:`recognize.evaluation.evaluate_manifest`."""
    from .manifest import read_manifest
    from .evaluation import evaluate_manifest, manifest_kind

    rows = read_manifest(manifest)
    return evaluate_manifest(_recognizer(model, manifest_kind(rows)), manifest, rows=rows)
