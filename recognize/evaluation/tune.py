"""``recognize tune``: choose the beam search's LM weight and bonus on a dev manifest.

The model runs once over the manifest; every (alpha, beta) pair then only decodes the
stored log-probabilities. :func:`recognize.decoding.spec.write_sidecar` records the
choice beside the model, where its default decoding picks it up.
"""

from __future__ import annotations

import itertools

from ..errors import RecognizeError
from .metrics import corpus_errors


def tune(recognizer, rows: list[dict], lm_path, alphas, betas, beam_size: int = 16, lexicon_path=None,
         progress=print, batch_size: int = 16, penalties=(None,)) -> dict:
    """Grid-search (alpha, beta, and with a lexicon the unknown-word penalty: None keeps
    words inside it) on ``rows``; returns ``{"alpha", "beta", "unknown_penalty", "wer",
    "cer", "greedy_wer", "greedy_cer", "grid": [...]}`` with the setting of lowest WER
    (speech) or CER (handwriting)."""
    from ..decoding.beam import BeamOptions, BeamSearch, read_word_list
    from ..decoding.greedy import greedy_decode
    from ..decoding.lm import load_lm
    from ..inputs.manifest import media_path

    if not lexicon_path and any(p is not None for p in penalties):
        raise RecognizeError("--unknown-penalties needs --lexicon")
    lm = load_lm(lm_path)
    lexicon = read_word_list(lexicon_path) if lexicon_path else None
    inputs, references = [], []
    for row in rows:
        try:
            inputs.append(recognizer.features(media_path(row))[0])
            references.append(row["text"])
        except RecognizeError as e:
            progress(f"skipped: {e}")
    log_probs = recognizer.log_probs(inputs, batch_size)
    key = recognizer.kind.metric

    def score(decode):
        hyps = [decode(lp[None], [len(lp)], recognizer.alphabet, recognizer.frame_unit)[0].text for lp in log_probs]
        errors = corpus_errors(references, hyps)
        return errors["wer"], errors["cer"]

    greedy_wer, greedy_cer = score(greedy_decode)
    progress(f"greedy: WER {100 * greedy_wer:.2f} %, CER {100 * greedy_cer:.2f} %")
    grid = []
    for alpha, beta, penalty in itertools.product(alphas, betas, penalties):
        wer, cer = score(BeamSearch(BeamOptions(beam_size=beam_size, lm=lm, alpha=alpha, beta=beta,
                                                lexicon=lexicon, unknown_penalty=penalty)))
        grid.append({"alpha": alpha, "beta": beta, "unknown_penalty": penalty, "wer": wer, "cer": cer})
        shown = "" if penalty is None else f", unknown words {penalty:g}"
        progress(f"alpha {alpha:g}, beta {beta:g}{shown}: WER {100 * wer:.2f} %, CER {100 * cer:.2f} %")
    best = min(grid, key=lambda g: (g[key], g["wer"] + g["cer"]))
    return {**best, "greedy_wer": greedy_wer, "greedy_cer": greedy_cer, "grid": grid, "n": len(references)}
