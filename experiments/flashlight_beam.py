"""Would a compiled beam search read lines faster, with the same output? flashlight-text's
lexicon-free CTC decoder (a wheel: ``pip install flashlight-text``) against this
checkout's beam search, on the bundled handwriting model's log-probabilities:

    python experiments/flashlight_beam.py [--manifest data/copiste/val.jsonl] [--top-k 12] [--threshold 10]

Both use the model's tuned settings but its word list (flashlight's lexicon-free search
has none): its character n-gram (read by flashlight's KenLM), alpha, beam size. flashlight has no bonus per character, so beta is added to every
non-blank label's log-probability instead (once per frame, not per character: the
same where a character takes one frame). ``--top-k`` and ``--threshold`` are its labels
per frame and its beam's score gap. Prints each one's CPU seconds (median of
``--repeats``, the two alternated), how many outputs differ and each one's CER and WER.
"""

from __future__ import annotations

import argparse
import gzip
import math
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from recognize.decoding.beam import BeamSearch
from recognize.evaluation.metrics import corpus_errors
from recognize.inputs.manifest import media_path, read_manifest
from recognize.kinds import HANDWRITING
from recognize.runtime.loading import load_model

from beam_speed import race, reader  # beside this script


def flashlight_decoder(recognizer, top_k: int, threshold: float):
    """flashlight's lexicon-free decoder with the recognizer's LM and settings; a function
    ``log_probs (T, V) -> text``."""
    from flashlight.lib.text.decoder import (CriterionType, KenLM, LexiconFreeDecoder,
                                             LexiconFreeDecoderOptions)
    from flashlight.lib.text.dictionary import Dictionary

    options, symbols = recognizer.decode.options, recognizer.alphabet.symbols
    arpa = Path(tempfile.mkdtemp()) / "lm.arpa"  # KenLM reads plain ARPA from its \data\ line on
    with gzip.open(recognizer.path.parent / "lm.arpa.gz", "rt", encoding="utf-8") as lm:
        arpa.write_text("".join(line for line in lm if not line.startswith("#")), encoding="utf-8")
    tokens = Dictionary()
    for symbol in symbols:  # the LM's names for the space and the blank
        tokens.add_entry({" ": "<sp>"}.get(symbol, symbol) if symbol != symbols[0] else "<blank>")
    decoder = LexiconFreeDecoder(
        LexiconFreeDecoderOptions(beam_size=options.beam_size, beam_size_token=top_k, beam_threshold=threshold,
                                  lm_weight=options.alpha * math.log(10), sil_score=0.0, log_add=True,
                                  criterion_type=CriterionType.CTC),
        KenLM(str(arpa), tokens), symbols.index(" "), 0, [])

    def decode(log_probs: np.ndarray) -> str:
        emissions = np.array(log_probs, dtype=np.float32)
        emissions[:, 1:] += options.beta
        path = decoder.decode(emissions.ctypes.data, *emissions.shape)[0].tokens
        return "".join(symbols[t] for i, t in enumerate(path) if t and (i == 0 or t != path[i - 1])).strip()

    return decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default="data/copiste/val.jsonl")
    parser.add_argument("--top-k", type=int, default=12)
    parser.add_argument("--threshold", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import flashlight.lib.text  # noqa: F401
    except ImportError:
        sys.exit("needs flashlight-text: pip install flashlight-text")
    recognizer = load_model("copiste", HANDWRITING, threads=1)
    rows = read_manifest(args.manifest)
    log_probs = recognizer.log_probs([recognizer.features(media_path(row))[0] for row in rows])
    ours = BeamSearch(replace(recognizer.decode.options, lexicon=None, unknown_penalty=None))  # the LM alone, as theirs
    decoders = {"ours": reader(ours, recognizer),
                "flashlight": flashlight_decoder(recognizer, args.top_k, args.threshold)}
    seconds, texts = race(decoders, log_probs, args.repeats)
    ratio = statistics.median(seconds["ours"]) / statistics.median(seconds["flashlight"])
    differ = sum(a != b for a, b in zip(texts["ours"], texts["flashlight"]))
    errors = {name: corpus_errors([row["text"] for row in rows], texts[name]) for name in texts}
    print(f"{len(rows)} lines from {args.manifest}, flashlight top-k {args.top_k}, threshold {args.threshold}: "
          + ", ".join(f"{name} {statistics.median(s):.2f} s" for name, s in seconds.items())
          + f" (CPU): flashlight {ratio:.2f}x as fast; {differ} outputs differ; "
          + ", ".join(f"{name} CER {100 * e['cer']:.2f} % WER {100 * e['wer']:.2f} %" for name, e in errors.items()))


if __name__ == "__main__":
    main()
