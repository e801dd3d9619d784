"""CTC prefix beam search (Hannun et al. 2014) with n-gram shallow fusion, a lexicon,
hotwords and n-best lists; pure Python and numpy, no native build.

Each beam entry is a label prefix with two acoustic log-probabilities, ending in a blank
(``p_b``) or not (``p_nb``), so that ``A A`` (one letter) and ``A - A`` (two) stay
apart. Its score is

    log(p_b + p_nb)  +  alpha * ln P_LM(text)  +  beta * units  +  hotword bonus

with units the words (word LM) or characters (character LM) so far. Per frame, only
the ``top_k`` most likely labels above ``prune`` (a natural-log probability) extend a
prefix, and the ``beam_size`` best prefixes are kept. With a lexicon, a word LM only
lets a prefix grow into words of the word list. Hotwords (words or phrases) add their
weight when completed, and a share of it while a word is a prefix of one, so that the
beam keeps them in sight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import RecognizeError
from .hypothesis import Hypothesis, Token, words_from_tokens
from .lm import EOS, SPACE, KenLMModel, NGramLM

LN10 = math.log(10)
NEG = -math.inf


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b))"""
    if a < b:
        a, b = b, a
    return a if b == NEG else a + math.log1p(math.exp(b - a))


@dataclass
class BeamOptions:
    beam_size: int = 16
    top_k: int = 12  # labels per frame that may extend a prefix
    prune: float = -5.0  # ... and only those with a log-probability above this (e^-5 = 0.7 %)
    lm: NGramLM | KenLMModel | None = None
    alpha: float = 0.5  # LM weight
    beta: float = 0.0  # bonus per word (word LM) or character (character LM)
    lexicon: frozenset | None = None  # allowed words (word LM only)
    hotwords: dict = field(default_factory=dict)  # "WORD" or "TWO WORDS" -> weight (natural log)
    nbest: int = 1

    def __post_init__(self):
        for name in ("beam_size", "top_k", "nbest"):
            if getattr(self, name) < 1:
                raise RecognizeError(f"beam search: {name} must be at least 1, not {getattr(self, name)}")
        self.prefixes = None
        if self.lexicon is not None:
            self.prefixes = {w[:i] for w in self.lexicon for i in range(len(w) + 1)}
        self.phrases = {tuple(k.split()): v for k, v in self.hotwords.items() if k.split()}
        self.first_words = {}  # first word of a hotword -> its weight, for the bonus on its prefixes
        for words, weight in self.phrases.items():
            self.first_words[words[0]] = max(self.first_words.get(words[0], 0.0), weight)


@dataclass
class _Prefix:
    labels: tuple
    text_score: float  # alpha * LM + beta * units + committed hotword bonus
    context: tuple  # LM history (units), at most order - 1
    partial: str  # the word being spelled
    words: tuple  # completed words (for hotword phrases)
    tokens: tuple  # (label, first frame, last frame, best posterior) per emitted label
    p_b: float = NEG
    p_nb: float = NEG

    def child(self) -> "_Prefix":
        """The same text at the next frame, with no probability yet."""
        return _Prefix(self.labels, self.text_score, self.context, self.partial, self.words, self.tokens)


class BeamSearch:
    """``decoder(log_probs (N, T, V), lengths (N,), alphabet, frame_unit) -> [Hypothesis]``,
    like :func:`recognize.decoding.greedy_decode`; ``Hypothesis.alternatives`` holds the
    n-best ``{"text", "score"}``."""

    def __init__(self, options: BeamOptions | None = None, lm_name: str = ""):
        self.options = options or BeamOptions()
        o = self.options
        self.description = f"beam (size {o.beam_size}" + (
            f", LM {lm_name or o.lm.unit + ' ' + str(o.lm.order) + '-gram'}, alpha {o.alpha}, beta {o.beta}"
            if o.lm is not None else "") + (f", lexicon of {len(o.lexicon)} words" if o.lexicon else "") + (
            f", hotwords {sorted(o.hotwords)}" if o.hotwords else "") + ")"

    def __call__(self, log_probs, lengths, alphabet, frame_unit) -> list[Hypothesis]:
        log_probs = np.asarray(log_probs)
        units = np.broadcast_to(np.asarray(frame_unit, dtype=np.float64), (len(log_probs),))
        return [self.decode_one(lp[: int(n)], alphabet, float(u))
                for lp, n, u in zip(log_probs, np.asarray(lengths), units)]

    # ---- the text side: what appending one character does to a prefix ----

    def _word_score(self, p: _Prefix, word: str) -> tuple[float, tuple] | None:
        """(score added, new LM context) for completing ``word``; None if the lexicon forbids it."""
        o = self.options
        if o.prefixes is not None and word not in o.lexicon:
            return None
        char_lm = o.lm is not None and o.lm.unit == "char"
        score, context = (0.0 if char_lm else o.beta), p.context
        if o.lm is not None and not char_lm:
            score += o.alpha * LN10 * o.lm.score(context, word)
            context = (context + (word,))[-(o.lm.order - 1):] if o.lm.order > 1 else ()
        words = p.words + (word,)
        for phrase, weight in o.phrases.items():
            if words[-len(phrase):] == phrase:
                score += weight
        return score, context

    def _hint(self, partial: str) -> float:
        """The share of a hotword's weight a partly spelled word earns."""
        best = 0.0
        for word, weight in self.options.first_words.items():
            if partial and word.startswith(partial):
                best = max(best, weight * len(partial) / len(word))
        return best

    def _extend(self, p: _Prefix, label: int, char: str, t: int, prob: float) -> _Prefix | None:
        o = self.options
        char_lm = o.lm is not None and o.lm.unit == "char"
        score, context, partial, words = p.text_score, p.context, p.partial, p.words
        if char == " ":
            if not partial:  # a space at the start or after a space changes nothing
                return None
            done = self._word_score(p, partial)
            if done is None:
                return None
            added, context = done
            score += added
            words, partial = words + (partial,), ""
        else:
            partial += char
            if o.prefixes is not None and partial not in o.prefixes:
                return None
        if char_lm:  # the context is the character history, which completing a word leaves as it was
            unit = SPACE if char == " " else char
            score += o.alpha * LN10 * o.lm.score(context, unit) + o.beta
            context = (context + (unit,))[-(o.lm.order - 1):] if o.lm.order > 1 else ()
        return _Prefix(p.labels + (label,), score, context, partial, words, p.tokens + ((label, t, t, prob),))

    def _total(self, p: _Prefix) -> float:
        return _add(p.p_b, p.p_nb) + p.text_score + (self._hint(p.partial) if self.options.first_words else 0.0)

    def _finish(self, p: _Prefix) -> float | None:
        """The text score of a prefix as a whole sentence; None if the lexicon forbids its last word."""
        o = self.options
        score, context = p.text_score, p.context
        if p.partial:
            done = self._word_score(p, p.partial)
            if done is None:
                return None
            added, context = done
            score += added
        if o.lm is not None:
            score += o.alpha * LN10 * o.lm.score(context, EOS)
        return score

    # ---- the search ----

    def decode_one(self, log_probs: np.ndarray, alphabet, frame_unit: float) -> Hypothesis:
        o = self.options
        symbols = alphabet.symbols
        root = _Prefix((), 0.0, ("<s>",) if o.lm is not None else (), "", (), ())
        root.p_b = 0.0
        beam = [root]
        for t in range(len(log_probs)):
            frame = log_probs[t]
            k = min(o.top_k, len(frame))
            best = np.argpartition(frame, -k)[-k:]
            candidates = [(int(c), float(frame[c])) for c in best if c != 0 and frame[c] > o.prune]
            blank = float(frame[0])
            if not candidates:  # a blank frame (most of them): every prefix stays, in the same order
                for p in beam:
                    p.p_b, p.p_nb = _add(p.p_b, p.p_nb) + blank, NEG
                continue
            following: dict[tuple, _Prefix] = {}
            for p in beam:
                total = _add(p.p_b, p.p_nb)
                same = following.get(p.labels) or following.setdefault(p.labels, p.child())
                same.p_b = _add(same.p_b, total + blank)
                last = p.labels[-1] if p.labels else None
                for c, pc in candidates:
                    if c == last:  # the same label again: the same prefix, unless a blank came between
                        same.p_nb = _add(same.p_nb, p.p_nb + pc)
                        if p.p_nb > NEG and same.tokens:
                            label, start, _, prob = same.tokens[-1]
                            same.tokens = same.tokens[:-1] + ((label, start, t, max(prob, math.exp(pc))),)
                        source = p.p_b
                    else:
                        source = total
                    if source == NEG:
                        continue
                    key = p.labels + (c,)
                    child = following.get(key)
                    if child is None:
                        child = self._extend(p, c, symbols[c], t, math.exp(pc))
                        if child is None:
                            continue
                        following[key] = child
                    child.p_nb = _add(child.p_nb, source + pc)
            beam = sorted(following.values(), key=self._total, reverse=True)[: o.beam_size]
        finished = []
        for p in beam:
            text_score = self._finish(p)
            if text_score is not None:
                finished.append((_add(p.p_b, p.p_nb) + text_score, p))
        if not finished:  # the lexicon ruled every prefix out: keep the acoustically best
            finished = [(_add(p.p_b, p.p_nb), p) for p in beam]
        finished.sort(key=lambda x: x[0], reverse=True)
        score, p = finished[0]
        tokens = [Token(label, start, end + 1, prob) for label, start, end, prob in p.tokens]
        text = " ".join(alphabet.decode(p.labels).split())
        hyp = Hypothesis(text, tokens, words_from_tokens(tokens, alphabet, frame_unit), frame_unit)
        hyp.alternatives = [{"text": " ".join(alphabet.decode(q.labels).split()), "score": round(s, 3)}
                            for s, q in finished[: o.nbest]]
        return hyp


def read_word_list(path) -> frozenset:
    """Words of a lexicon file: the first field of each line (a CMU-style dictionary
    works: ``WORD(2)`` variants are folded into ``WORD``)."""
    from pathlib import Path

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RecognizeError(f"{path}: cannot read the word list ({getattr(e, 'strerror', None) or 'not UTF-8'})") from None
    words = frozenset(line.split()[0].split("(")[0] for line in lines if line.strip() and not line.startswith(";"))
    if not words:
        raise RecognizeError(f"{path}: the word list is empty")
    return words


def parse_hotwords(items, default_weight: float = 5.0) -> dict:
    """``["WORD", "TWO WORDS:3.5"]`` -> ``{"WORD": 5.0, "TWO WORDS": 3.5}``."""
    hotwords = {}
    for item in items:
        text, sep, weight = item.rpartition(":")
        if not sep:
            text, weight = item, str(default_weight)
        try:
            hotwords[" ".join(text.split())] = float(weight)
        except ValueError:
            raise RecognizeError(f"--hotword {item}: expected WORDS or WORDS:WEIGHT") from None
    return hotwords
