"""Forced alignment: a known transcript placed on its recording (word times) or line
image (character x-positions) by the most likely CTC path that spells exactly it
(Viterbi over the CTC trellis, as NeMo's forced aligner and torchaudio's
``forced_align`` do). No torch: it runs on the log-probabilities a model gives
(:func:`recognize.runtime.align.align_rows`).
"""

from __future__ import annotations

import numpy as np

from ..inputs.text import normalize_text
from .hypothesis import Hypothesis, Token, words_from_tokens


def viterbi_path(log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The best CTC path that emits exactly ``labels``.

    log_probs: ``(T, V)`` of one item (blank = 0); labels: ``(L,)`` without blanks.
    Returns ``(T,)`` int: for each frame, the position in ``labels`` it emits, or -1
    for a blank. Raises :class:`ValueError` if ``labels`` cannot fit in T frames
    (CTC needs a frame per label plus a blank between repeated labels).
    """
    frames, n = len(log_probs), len(labels)
    states = np.zeros(2 * n + 1, dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    states[1::2] = labels
    skip = np.zeros(len(states), dtype=bool)  # a label may follow the previous label directly
    skip[3::2] = labels[1:] != labels[:-1]
    emit = log_probs[:, states]  # (T, S)
    score = np.full(len(states), -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((frames, len(states)), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, frames):
        one = np.r_[-np.inf, score[:-1]]
        two = np.where(skip, np.r_[-np.inf, -np.inf, score[:-2]], -np.inf)
        candidates = np.stack([score, one, two])
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + emit[t]
    last = len(states) - 1 if score[-1] >= score[-2] else len(states) - 2  # ends on the last label or blank
    if not np.isfinite(score[last]):
        raise ValueError(f"{n} characters do not fit in {frames} output frames")
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = last
        last -= int(back[t, last])
    return np.where(path % 2 == 1, path // 2, -1)


def aligned_hypothesis(log_probs: np.ndarray, text: str, alphabet, frame_unit: float) -> Hypothesis:
    """``text`` aligned to one item's ``(T, V)`` log-probs: a :class:`Hypothesis` whose
    tokens are its characters (first and one-past-last frame, highest posterior over
    them) and whose words carry start/end in ``frame_unit``. Raises
    :class:`ValueError` for characters outside ``alphabet`` or a text that cannot fit."""
    text = normalize_text(text)
    if not text:
        raise ValueError("empty transcript")
    unknown = alphabet.unknown(text)
    if unknown:
        raise ValueError(f"characters not in the model's alphabet: {' '.join(sorted(unknown))}")
    labels = np.array(alphabet.encode(text), dtype=np.int64)
    path = viterbi_path(log_probs, labels)
    tokens = []
    for i, label in enumerate(labels):
        frames = np.flatnonzero(path == i)
        tokens.append(Token(int(label), int(frames[0]), int(frames[-1]) + 1,
                            float(np.exp(log_probs[frames, label].max()))))
    return Hypothesis(text, tokens, words_from_tokens(tokens, alphabet, frame_unit), frame_unit)
