"""CTC decoding in numpy (no torch): greedy best path, with token and word timings.

Beam search with language models comes later; it will return the same
:class:`Hypothesis`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .text import Alphabet


@dataclass
class Token:
    label: int
    start: int  # first output frame of the token's run of frames
    end: int  # one past its last frame
    prob: float  # highest posterior over the run


@dataclass
class Word:
    word: str
    start: float  # seconds (speech) or x in pixels (handwriting)
    end: float
    confidence: float  # lowest character posterior in the word


@dataclass
class Hypothesis:
    text: str
    tokens: list[Token] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    frame_unit: float = 1.0  # what one output frame spans: seconds, or pixels of the input image
    alternatives: list = field(default_factory=list)  # n-best [{"text", "score"}] (beam search)


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


def words_from_tokens(tokens: list[Token], alphabet: Alphabet, frame_unit: float) -> list[Word]:
    """Group tokens into space-separated words with start/end in ``frame_unit`` (e.g. seconds)."""
    words, current = [], []
    for token in tokens + [None]:
        if token is None or alphabet.symbols[token.label] == " ":
            if current:
                words.append(Word(
                    alphabet.decode(t.label for t in current),
                    round(current[0].start * frame_unit, 3),
                    round(current[-1].end * frame_unit, 3),
                    round(min(t.prob for t in current), 4),
                ))
            current = []
        else:
            current.append(token)
    return words


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


DECODERS = {"greedy": greedy_decode}  # name -> f(log_probs, lengths, alphabet, frame_unit)
