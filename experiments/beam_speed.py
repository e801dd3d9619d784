"""How much faster is the beam search than it was at another commit, with what output?

    python experiments/beam_speed.py --against 99392a0 [--model copiste] [--manifest data/copiste/val.jsonl] [--set gap=8]

The bundled model's log-probabilities over the manifest are computed once; then the
beam search of this checkout and that of the commit (its ``recognize/decoding/beam.py``,
with the model's own decoding settings) decode them in turn, ``--repeats`` times. Prints
each one's CPU seconds, the median ratio, how many outputs differ and each one's WER and
CER. ``--set FIELD=NUMBER`` changes one of this checkout's :class:`BeamOptions` (``gap``,
``prune``, ``top_k``, ``beam_size``) from the model's settings.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from recognize.decoding import beam
from recognize.evaluation.metrics import corpus_errors
from recognize.inputs.manifest import media_path, read_manifest
from recognize.kinds import kind_named
from recognize.models import BUNDLED
from recognize.runtime.loading import load_model

ROOT = Path(__file__).resolve().parents[1]


def beam_at(commit: str):
    """The ``recognize.decoding.beam`` module as it was at ``commit``."""
    source = subprocess.run(["git", "show", f"{commit}:recognize/decoding/beam.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "beam_then.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("recognize.decoding.beam_then", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def reader(decoder, recognizer):
    """``decoder`` (a :class:`~recognize.decoding.beam.BeamSearch` or alike) as a function
    of one utterance: ``(T, V)`` log-probabilities -> text."""
    return lambda log_probs: decoder(log_probs[None], np.array([len(log_probs)]), recognizer.alphabet,
                                     recognizer.frame_unit)[0].text


def race(decoders: dict, log_probs: list, repeats: int) -> tuple[dict, dict]:
    """Each of ``decoders`` (name -> function of ``(T, V)`` log-probabilities -> text) over
    all ``log_probs``, in turn, ``repeats`` times: ``({name: [CPU seconds of each pass]},
    {name: [texts]})``."""
    seconds, texts = {name: [] for name in decoders}, {}
    for _ in range(repeats):
        for name, decode in decoders.items():
            started = time.process_time()
            texts[name] = [decode(lp) for lp in log_probs]
            seconds[name].append(time.process_time() - started)
    return seconds, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", required=True, metavar="COMMIT")
    parser.add_argument("--model", default="copiste", choices=sorted(BUNDLED))
    parser.add_argument("--manifest",
                        help="default: the model's dev split (data/copiste/val.jsonl, data/an4/dev.jsonl)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=NUMBER",
                        help="change one of this checkout's beam options (repeatable)")
    args = parser.parse_args()
    manifest = args.manifest or {"copiste": "data/copiste/val.jsonl", "an4": "data/an4/dev.jsonl"}[args.model]
    recognizer = load_model(args.model, kind_named(BUNDLED[args.model]), threads=1)
    now = recognizer.decode
    if not isinstance(now, beam.BeamSearch):
        sys.exit(f"{args.model}: its default decoding is not a beam search")
    if args.set:
        changes = dict(item.split("=", 1) for item in args.set)
        now = beam.BeamSearch(replace(now.options, **{k: type(getattr(now.options, k))(float(v))
                                                      for k, v in changes.items()}))
    rows = read_manifest(manifest)
    log_probs = recognizer.log_probs([recognizer.features(media_path(row))[0] for row in rows])
    then_module = beam_at(args.against)
    options = {f.name: getattr(recognizer.decode.options, f.name) for f in fields(then_module.BeamOptions)}  # the model's
    then = then_module.BeamSearch(then_module.BeamOptions(**options))
    seconds, texts = race({name: reader(decoder, recognizer) for name, decoder in (("then", then), ("now", now))},
                          log_probs, args.repeats)
    ratio = statistics.median(seconds["then"]) / statistics.median(seconds["now"])
    differ = sum(a != b for a, b in zip(texts["then"], texts["now"]))
    errors = {name: corpus_errors([row["text"] for row in rows], texts[name]) for name in texts}
    print(f"{args.model}, {len(rows)} items from {manifest}: {args.against} "
          f"{', '.join(f'{t:.2f}' for t in seconds['then'])} s, this checkout "
          f"{', '.join(f'{t:.2f}' for t in seconds['now'])} s (CPU): {ratio:.2f}x faster; {differ} outputs differ; "
          + ", ".join(f"{name} WER {100 * e['wer']:.2f} % CER {100 * e['cer']:.2f} %" for name, e in errors.items()))


if __name__ == "__main__":
    main()
