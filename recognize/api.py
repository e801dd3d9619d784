"""The public Python API: load a model, transcribe files, read line images, align known
transcripts, evaluate a manifest. Everything here returns data; nothing prints."""

from __future__ import annotations

from pathlib import Path

from .decoding.hypothesis import Hypothesis
from .kinds import HANDWRITING, SPEECH, kind_named, kind_of_files, kind_of_rows


def load_model(path: str | Path | None = None, device: str = "cpu", threads: int = 0, decoder="auto",
               kind: str = "speech"):
    """A :class:`~recognize.runtime.recognizer.Recognizer` for ``path``: a bundled model's
    name (``"an4"``, ``"copiste"``), a ``.onnx`` or ``.pt`` file, or None for the bundled
    model of ``kind``; ``decoder``: a spec (:mod:`recognize.decoding.spec`)."""
    from .runtime.loading import load_model as load

    return load(path, kind_named(str(kind)), device=device, threads=threads, decoder=decoder)


def _recognizer(model, kind):
    """``model`` as a Recognizer: one already loaded, a name or path, or None for the bundled model of ``kind``."""
    return load_model(model, kind=kind) if model is None or isinstance(model, (str, Path)) else model


def transcribe(paths, model=None) -> list[Hypothesis]:
    """Transcribe audio files; ``model`` is a Recognizer, a name or a path (default: bundled)."""
    return [hyp for _, hyp, _ in _recognizer(model, SPEECH).transcribe_files([str(p) for p in paths])]


def read(paths, model=None, layout: str = "auto") -> list:
    """Recognize handwriting: for each line image a :class:`Hypothesis`, for each page
    image a dict as ``recognize read --format json`` writes it (``{"file", "text",
    "width", "height", "lines": [{"text", "box", "polygon", "baseline", "confidence",
    "characters"}]}``, coordinates in the image's pixels). ``layout``: ``"auto"`` (pages
    are at least 400 pixels high and less than 2.5 times as wide), ``"page"`` or ``"line"``;
    ``model`` is a Recognizer, a name or a path (default: bundled)."""
    from .inputs.image import header_size
    from .runtime.pages import is_page, read_page

    recognizer, results = _recognizer(model, HANDWRITING), []
    for path in map(str, paths):
        if layout == "page" or (layout == "auto" and is_page(*header_size(path))):
            results.append(read_page(recognizer, path).to_dict())
        else:
            results.append(next(recognizer.transcribe_files([path]))[1])
    return results


def align(pairs, model=None) -> list[Hypothesis]:
    """Place known transcripts on their files: ``pairs`` of (audio or line image path,
    text) -> one Hypothesis each, its words timed (speech) or its characters placed
    (``tokens``, in ``frame_unit`` pixels); ``model`` is a Recognizer or a path
    (default: the bundled model for the files' kind). Raises
    :class:`~recognize.errors.RecognizeError` naming the first pair that cannot be aligned."""
    from .runtime.align import align_rows

    pairs = [(str(path), text) for path, text in pairs]
    kind = kind_of_files([path for path, _ in pairs])
    rows = [{"id": str(i), kind.key: path, "text": text} for i, (path, text) in enumerate(pairs)]
    return [hyp for _, hyp, _ in align_rows(_recognizer(model, kind), rows)]


def evaluate(manifest: str | Path, model=None) -> dict:
    """Corpus WER/CER of ``model`` on a manifest (default: the bundled model for its kind of
    rows); see :func:`recognize.evaluation.evaluate.evaluate_manifest`."""
    from .evaluation.evaluate import evaluate_manifest
    from .inputs.manifest import read_manifest

    rows = read_manifest(manifest)
    return evaluate_manifest(_recognizer(model, kind_of_rows(rows)), manifest, rows=rows)
