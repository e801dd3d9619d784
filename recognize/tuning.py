"""``recognize tune``: choose the beam search's LM weight and bonus on a dev manifest,
and write them beside the model, where its decoding picks them up.

The model runs once over the manifest; every (alpha, beta) pair then only decodes the
stored log-probabilities. The choice goes to ``MODEL.decoding.json`` (next to
``MODEL.onnx`` or ``MODEL.pt``)::

    {"decoder": "beam", "lm": "an4.arpa", "alpha": 0.8, "beta": 1.0, "beam_size": 16,
     "lexicon": "an4.dic", "dev": {"manifest": ..., "wer": ..., "cer": ..., "greedy_wer": ...}}

Paths in it are relative to its folder. ``transcribe``, ``read`` and ``evaluate`` use
it when ``--decoder`` is not given.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .atomic import atomic_write_text
from .errors import RecognizeError
from .metrics import corpus_errors


def sidecar_of(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".decoding.json")


def decoder_from_sidecar(model_path: str | Path, changes: dict | None = None):
    """The beam search a model's ``.decoding.json`` describes, or None when it has none.

    ``changes`` (the command line's beam options: ``BeamOptions`` fields, with ``lm`` and
    ``lexicon`` as paths) adjust it: ``nbest`` or ``beam_size`` keep its LM and weights. A
    new ``lm`` replaces the tuned settings whole, as they were tuned for the old one. With
    ``changes`` (even empty) the answer is a beam search, from defaults where there is no file.
    """
    from .beam import BeamOptions, BeamSearch, read_word_list
    from .lm import load_lm

    path = sidecar_of(model_path)
    if changes is None and not path.exists():
        return None
    changes = changes or {}
    spec, lm_name = {}, Path(changes["lm"]).name if changes.get("lm") else ""
    if path.exists() and "lm" not in changes:
        spec, lm_name = read_sidecar(path)
    spec.update(changes)
    lm = load_lm(spec.pop("lm")) if spec.get("lm") else None
    if spec.get("lexicon"):
        spec["lexicon"] = read_word_list(spec["lexicon"])
    return BeamSearch(BeamOptions(lm=lm, **spec), lm_name=lm_name)


SIDECAR_FIELDS = (("lm", str), ("lexicon", str), ("beam_size", int), ("alpha", float), ("beta", float))


def read_sidecar(path: Path) -> tuple[dict, str]:
    """A ``.decoding.json`` as ``BeamOptions`` fields (``lm`` and ``lexicon`` as paths), and its LM's name."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        spec = {key: cast(raw[key]) for key, cast in SIDECAR_FIELDS if raw.get(key) not in (None, "")}
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as e:
        raise RecognizeError(f"{path}: not a decoding file ({type(e).__name__}: {e})") from None
    for key in ("lm", "lexicon"):  # relative to the file's folder
        if key in spec:
            spec[key] = path.parent / spec[key]
    return spec, raw.get("lm") or ""


def model_outputs(recognizer, inputs: list[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
    """``(T', V)`` log-probabilities for each ``(T, F)`` input, batched by length as
    :meth:`~recognize.recognizer.Recognizer.transcribe_files` batches them (int8 models
    quantize each batch's activations with its own scale, so batching matters)."""
    from .recognizer import WINDOW, length_batches

    outputs = [None] * len(inputs)
    for start in range(0, len(inputs), WINDOW * batch_size):
        window = inputs[start : start + WINDOW * batch_size]
        for indices in length_batches([len(x) for x in window], batch_size):
            log_probs, out_lens = recognizer.forward(*recognizer.pad([window[i] for i in indices]))
            for row, i in enumerate(indices):
                outputs[start + i] = log_probs[row, : int(out_lens[row])]
    return outputs


def tune(recognizer, rows: list[dict], lm_path, alphas, betas, beam_size: int = 16, lexicon_path=None,
         progress=print, batch_size: int = 16) -> dict:
    """Grid-search (alpha, beta) on ``rows``; returns ``{"alpha", "beta", "wer", "cer",
    "greedy_wer", "greedy_cer", "grid": [...]}`` with the pair of lowest WER (speech) or
    CER (handwriting)."""
    from .beam import BeamOptions, BeamSearch, read_word_list
    from .decoding import greedy_decode
    from .lm import load_lm
    from .manifest import media_path

    lm = load_lm(lm_path)
    lexicon = read_word_list(lexicon_path) if lexicon_path else None
    inputs, references = [], []
    for row in rows:
        try:
            inputs.append(recognizer.features(media_path(row))[0])
            references.append(row["text"])
        except RecognizeError as e:
            progress(f"skipped: {e}")
    log_probs = model_outputs(recognizer, inputs, batch_size)
    key = "wer" if recognizer.kind == "speech" else "cer"

    def score(decode):
        hyps = [decode(lp[None], [len(lp)], recognizer.alphabet, recognizer.frame_unit)[0].text for lp in log_probs]
        errors = corpus_errors(references, hyps)
        return errors["wer"], errors["cer"]

    greedy_wer, greedy_cer = score(greedy_decode)
    progress(f"greedy: WER {100 * greedy_wer:.2f} %, CER {100 * greedy_cer:.2f} %")
    grid = []
    for alpha in alphas:
        for beta in betas:
            wer, cer = score(BeamSearch(BeamOptions(beam_size=beam_size, lm=lm, alpha=alpha, beta=beta,
                                                    lexicon=lexicon)))
            grid.append({"alpha": alpha, "beta": beta, "wer": wer, "cer": cer})
            progress(f"alpha {alpha:g}, beta {beta:g}: WER {100 * wer:.2f} %, CER {100 * cer:.2f} %")
    best = min(grid, key=lambda g: (g[key], g["wer"] + g["cer"]))
    return {**best, "greedy_wer": greedy_wer, "greedy_cer": greedy_cer, "grid": grid, "n": len(references)}


def write_sidecar(model_path, result: dict, lm_path, lexicon_path, beam_size: int, manifest) -> Path:
    """Record the tuned decoding beside the model (paths relative to it when they can be)."""
    path = sidecar_of(model_path)

    def relative(p):
        if not p:
            return None
        p = Path(p).resolve()
        try:
            return str(p.relative_to(path.parent.resolve()))
        except ValueError:
            return str(p)

    spec = {"decoder": "beam", "lm": relative(lm_path), "alpha": result["alpha"], "beta": result["beta"],
            "beam_size": beam_size, "lexicon": relative(lexicon_path),
            "dev": {"manifest": str(manifest), "n": result["n"], "wer": round(result["wer"], 4),
                    "cer": round(result["cer"], 4), "greedy_wer": round(result["greedy_wer"], 4),
                    "greedy_cer": round(result["greedy_cer"], 4)}}
    atomic_write_text(path, json.dumps(spec, indent=2) + "\n")
    return path
