"""The one place a decoder is built. The command line's flags, the Python API's
arguments and a model's ``.decoding.json`` all become a *spec*:

- ``"greedy"``: best path (:func:`~recognize.decoding.greedy.greedy_decode`);
- ``"auto"``: the beam search in the model's ``.decoding.json``, else greedy;
- a dict of :class:`~recognize.decoding.beam.BeamOptions` fields (``lm`` and ``lexicon``
  as paths, ``hotwords`` as ``{phrase: weight}``) that change that tuned beam search;
  ``{}`` is the tuned beam search as it is, or the defaults where there is none;
- a decoder object: ``f(log_probs (N, T', V), lengths (N,), alphabet, frame_unit) -> [Hypothesis]``.

``MODEL.decoding.json`` (next to ``MODEL.onnx`` or ``MODEL.pt``, written by ``recognize
tune``; paths in it are relative to its folder)::

    {"decoder": "beam", "lm": "an4.arpa", "alpha": 0.8, "beta": 1.0, "beam_size": 16,
     "lexicon": "an4.dic", "unknown_penalty": null, "dev": {"manifest": ..., "wer": ..., "cer": ..., "greedy_wer": ...}}
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import RecognizeError
from .greedy import greedy_decode

BEAM_OPTIONS = ("lm", "lexicon", "unknown_penalty", "hotwords", "beam_size", "alpha", "beta", "nbest")
SIDECAR_FIELDS = (("lm", str), ("lexicon", str), ("unknown_penalty", float), ("beam_size", int), ("alpha", float),
                  ("beta", float))


def decoder_spec(decoder: str | None = None, names: dict | None = None, **options) -> str | dict:
    """A spec from a decoder choice (``"greedy"``, ``"beam"`` or None: the model's own) and
    beam options (None: not given). Beam options with ``"greedy"`` are an error that
    names the first, as ``names`` spells it (e.g. the command line's flags)."""
    unknown = set(options) - set(BEAM_OPTIONS)
    if unknown:
        raise RecognizeError(f"unknown decoder options: {', '.join(sorted(unknown))} (known: {', '.join(BEAM_OPTIONS)})")
    if decoder not in (None, "greedy", "beam"):
        raise RecognizeError(f"decoder: {decoder!r} is not greedy or beam")
    changes = {key: value for key, value in options.items() if value is not None}
    if decoder == "greedy":
        if changes:
            first = next(iter(changes))
            needs = "--decoder beam" if names else "decoder='beam'"
            raise RecognizeError(f"{(names or {}).get(first, first)} needs {needs}")
        return "greedy"
    return "auto" if decoder is None and not changes else changes


def build_decoder(spec, model_path: str | Path):
    """The decoder a spec describes, for the model at ``model_path`` (whose
    ``.decoding.json`` ``"auto"`` and dicts start from)."""
    if spec == "greedy":
        return greedy_decode
    if spec == "auto":
        return beam_from_sidecar(model_path) or greedy_decode
    if isinstance(spec, dict):
        return beam_from_sidecar(model_path, spec)
    if callable(spec):
        return spec
    raise RecognizeError(f"decoder: {spec!r} is not greedy, auto, a dict of beam options or a decoder")


def sidecar_of(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".decoding.json")


def beam_from_sidecar(model_path: str | Path, changes: dict | None = None):
    """The beam search a model's ``.decoding.json`` describes, or None when it has none.

    ``changes`` adjust it: ``nbest`` or ``beam_size`` keep its LM and weights. A new
    ``lm`` replaces the tuned settings whole, as they were tuned for the old one. With
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


def write_sidecar(model_path, result: dict, lm_path, lexicon_path, beam_size: int, manifest) -> Path:
    """Record a tuned decoding (:func:`recognize.evaluation.tune.tune`'s ``result``) beside
    the model, paths relative to it when they can be."""
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
            "beam_size": beam_size, "lexicon": relative(lexicon_path), "unknown_penalty": result.get("unknown_penalty"),
            "dev": {"manifest": str(manifest), "n": result["n"], "wer": round(result["wer"], 4),
                    "cer": round(result["cer"], 4), "greedy_wer": round(result["greedy_wer"], 4),
                    "greedy_cer": round(result["greedy_cer"], 4)}}
    atomic_write_text(path, json.dumps(spec, indent=2) + "\n")
    return path
