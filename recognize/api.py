"""The public Python API: load a model, transcribe files, read line images and pages, find
a page's lines, align known transcripts, evaluate a manifest. Everything here returns
data; nothing prints."""

from __future__ import annotations

from pathlib import Path

from .decoding.hypothesis import Hypothesis
from .kinds import HANDWRITING, SPEECH, kind_named, kind_of_files, kind_of_rows


def load_model(path: str | Path | None = None, device: str = "cpu", threads: int = 0, decoder="auto",
               kind: str = "speech", **beam_options):
    """A :class:`~recognize.runtime.recognizer.Recognizer` for ``path``: a bundled model's
    name (``"an4"``, ``"copiste"``), a ``.onnx`` or ``.pt`` file, or None for the bundled
    model of ``kind``. ``decoder``: ``"auto"`` (the model's tuned decoding), ``"greedy"``,
    ``"beam"`` or a spec (:mod:`recognize.decoding.spec`); ``beam_options`` as the command
    line's: ``lm``, ``lexicon``, ``beam_size``, ``alpha``, ``beta``, ``nbest`` and
    ``hotwords`` (``{"PHRASE": weight}``)."""
    from .runtime.loading import load_model as load

    return load(path, kind_named(str(kind)), device=device, threads=threads, decoder=_spec(decoder, beam_options))


def _spec(decoder, beam_options: dict):
    """The decoder spec the API's ``decoder=`` and beam options describe; a spec given
    whole (a dict of beam options, a decoder object) goes through as it is."""
    from .decoding.spec import decoder_spec

    if decoder in (None, "auto", "greedy", "beam") or beam_options:
        return decoder_spec(None if decoder == "auto" else decoder, **beam_options)
    return decoder


def _recognizer(model, kind, options: dict | None = None):
    """``model`` as a Recognizer: one already loaded (with ``options``, a copy decoding as
    they say), a name or path, or None for the bundled model of ``kind``."""
    if model is None or isinstance(model, (str, Path)):
        return load_model(model, kind=kind, **(options or {}))
    if options:
        import copy

        from .decoding.spec import build_decoder

        model = copy.copy(model)
        decoder = options.pop("decoder", None)
        model.decode = build_decoder(_spec(decoder, options), model.path)
    return model


def transcribe(inputs, model=None, sample_rate: int | None = None, **options) -> list[Hypothesis]:
    """Transcribe audio: each input a file path, the bytes of an audio file, or a 1-D
    numpy array of samples at ``sample_rate``. ``model`` is a Recognizer, a name or a path
    (default: the bundled one); ``options`` choose the decoding as :func:`load_model`'s do
    (``decoder="greedy"``, ``lm=``, ``beam_size=``, ``hotwords=``, ...). Raises
    :class:`~recognize.errors.RecognizeError` for an input that cannot be read."""
    recognizer = _recognizer(model, SPEECH, options)
    files = [str(x) for x in inputs if isinstance(x, (str, Path))]
    done = {path: hyp for path, hyp, _ in recognizer.transcribe_files(files)}
    results = []
    for x in inputs:
        if isinstance(x, (str, Path)):
            results.append(done[str(x)])
        else:
            results.append(recognizer.decode_features([_features(recognizer, x, sample_rate)])[0])
    return results


def _features(recognizer, audio, sample_rate):
    """``(T, F)`` log-mel of the bytes of an audio file or an array of samples."""
    import numpy as np

    from .errors import AudioError
    from .inputs.audio import finite_log_mel, load_audio, resample

    rate = recognizer.cfg.features.sample_rate
    if isinstance(audio, (bytes, bytearray)):
        name, wave = "<bytes>", load_audio("<bytes>", rate, content=bytes(audio))
    else:
        name = "<array>"
        wave = np.asarray(audio, dtype=np.float32)
        if wave.ndim != 1 or not sample_rate:
            raise AudioError(f"<array>: give a 1-D array of samples and its sample_rate (got shape {wave.shape}, "
                             f"sample_rate {sample_rate})")
        if not np.isfinite(wave).all():
            raise AudioError("<array>: contains NaN or infinite samples")
        wave = resample(wave, sample_rate, rate) if sample_rate != rate else wave
    return finite_log_mel(wave, recognizer.cfg.features, name)  # checked as files are


def read(paths, model=None, layout: str = "auto", **options) -> list:
    """Recognize handwriting: for each line image a :class:`Hypothesis`, for each page
    image, and each page of a PDF or multi-page TIFF, a dict as ``recognize read --format
    json`` writes it (``{"file", "text", "width", "height", "lines": [{"text", "box",
    "polygon", "baseline", "confidence", "characters", "words"}]}``, coordinates in the image's
    pixels; a document page's ``file`` is ``scan.pdf#page=2``); for an ALTO or PAGE XML
    file, the same of its page image with the lines it gives. ``layout``: ``"auto"``
    (pages are at least 400 pixels high and less than 2.5 times as wide), ``"page"`` or
    ``"line"``; ``model`` is a Recognizer, a name or a path (default: bundled);
    ``options`` choose the decoding as :func:`load_model`'s do."""
    from .inputs.documents import pages_of
    from .layout.page import reads_as_page

    recognizer, results = _recognizer(model, HANDWRITING, options), []
    for path in (page for path in map(str, paths) for page in pages_of(path)):
        if reads_as_page(path, layout):
            from .runtime.pages import read_page  # the line finder (and scipy) load for pages only

            results.append(read_page(recognizer, path).to_dict())
        else:
            results.append(next(recognizer.transcribe_files([path]))[1])
    return results


def segment(paths) -> list[dict]:
    """Find the text lines of page images without reading them (no model): for each page,
    and each page of a PDF or multi-page TIFF, a dict as ``recognize segment --format json``
    writes it (``{"file", "width", "height", "lines": [{"box", "polygon", "baseline", ...}]}``,
    coordinates in the image's pixels, lines in reading order, their text empty)."""
    from .inputs.documents import pages_of
    from .runtime.pages import segment_page

    return [segment_page(page).to_dict() for path in map(str, paths) for page in pages_of(path)]


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
