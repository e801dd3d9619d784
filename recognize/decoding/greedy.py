"""Greedy CTC decoding in numpy (no torch): the best path, with token and word timings."""

from __future__ import annotations

import numpy as np

from ..inputs.text import Alphabet
from .hypothesis import Hypothesis, Token, words_from_tokens


def greedy_tokens(log_probs: np.ndarray) -> list[Token]:
    """Best path of one utterance ``(T, V)`` log-probs: merge repeats, drop blanks (label 0)."""
    if len(log_probs) == 0:
        return []
    best = log_probs.argmax(axis=-1)
    best_prob = np.exp(log_probs.max(axis=-1))
    # boundaries of runs of the same label
    starts = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
    ends = np.r_[starts[1:], len(best)]
    return [
        Token(int(best[s]), int(s), int(e), float(best_prob[s:e].max()))
        for s, e in zip(starts, ends)
        if best[s] != 0
    ]


def greedy_decode(log_probs: np.ndarray, lengths, alphabet: Alphabet, frame_unit) -> list[Hypothesis]:
    """Greedy CTC decoding of a batch.

    log_probs: ``(N, T', V)``; lengths: ``(N,)`` valid output frames per item;
    frame_unit: what one output frame spans (seconds of audio, or pixels of a line
    image), one number or one per item. Returns one :class:`Hypothesis` per item, with
    word start/end in that unit.
    """
    log_probs = np.asarray(log_probs)
    units = np.broadcast_to(np.asarray(frame_unit, dtype=np.float64), (len(log_probs),))
    hyps = []
    for lp, n, unit in zip(log_probs, np.asarray(lengths), units):
        tokens = greedy_tokens(lp[: int(n)])
        text = " ".join(alphabet.decode(t.label for t in tokens).split())
        hyps.append(Hypothesis(text, tokens, words_from_tokens(tokens, alphabet, float(unit)), float(unit)))
    return hyps
