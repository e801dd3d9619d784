"""CTC prefix beam search (Hannun et al. 2014) with n-gram shallow fusion, a lexicon,
hotwords and n-best lists; pure Python and numpy, no native build.

Each beam entry is a label prefix with two acoustic log-probabilities, ending in a blank
(``p_b``) or not (``p_nb``), so that ``A A`` (one letter) and ``A - A`` (two) stay
apart. Its score is

    log(p_b + p_nb)  +  alpha * ln P_LM(text)  +  beta * units  +  hotword bonus

with units the words (word LM) or characters (character LM) so far. Per frame, only
the ``top_k`` most likely labels above ``prune`` (a natural-log probability) extend a
prefix, and the ``beam_size`` best prefixes are kept, but none more than ``gap`` below
the best unless the n-best list needs it (on both dev sets no prefix that far behind
came back, and most frames need far fewer than ``beam_size``). With a lexicon, a prefix
only grows into words of the word list; with a lexicon and ``unknown_penalty``, other
words are allowed, each part of one not in the list (its punctuation stripped, split at
apostrophes and hyphens, case folded, numbers left out) costing that much, as
pyctcdecode's ``unk_score_offset`` does. Hotwords (words or phrases) add their
weight when completed, and a share of it while a word is a prefix of one, so that the
beam keeps them in sight.
"""

from __future__ import annotations

import bisect
import math
import re
import string
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
    prune: float = -6.0  # ... and only those with a log-probability above this (e^-6 = 0.25 %)
    gap: float = 10.0  # prefixes scoring more than this below the best are dropped (natural log)
    lm: NGramLM | KenLMModel | None = None
    alpha: float = 0.5  # LM weight
    beta: float = 0.0  # bonus per word (word LM) or character (character LM)
    lexicon: frozenset | None = None  # allowed words
    unknown_penalty: float | None = None  # with a lexicon: the cost of each word part outside it (None: not allowed)
    hotwords: dict = field(default_factory=dict)  # "WORD" or "TWO WORDS" -> weight (natural log)
    nbest: int = 1

    def __post_init__(self):
        for name in ("beam_size", "top_k", "nbest"):
            if getattr(self, name) < 1:
                raise RecognizeError(f"beam search: {name} must be at least 1, not {getattr(self, name)}")
        if self.unknown_penalty is not None and (self.lexicon is None or self.unknown_penalty < 0):
            raise RecognizeError(f"beam search: an unknown-word penalty ({self.unknown_penalty:g}) needs a lexicon "
                                 "(--lexicon) and must be at least 0")
        self.prefixes = self.known = None
        if self.lexicon is not None and self.unknown_penalty is None:
            self.prefixes = {w[:i] for w in self.lexicon for i in range(len(w) + 1)}
        elif self.lexicon is not None:
            self.known = frozenset(w.lower() for w in self.lexicon)
        self.phrases = {tuple(k.split()): v for k, v in self.hotwords.items() if k.split()}
        self.first_words = {}  # first word of a hotword -> its weight, for the bonus on its prefixes
        for words, weight in self.phrases.items():
            self.first_words[words[0]] = max(self.first_words.get(words[0], 0.0), weight)


class _Text:
    """A label prefix as text: what its characters add to the score (LM, bonuses), the
    same whichever frames they were read at, so each is worked out once per utterance.
    ``kids`` maps a label to the prefix one label longer (None where it is not allowed)."""

    __slots__ = ("context", "kids", "labels", "partial", "rank_bonus", "score", "words")

    def __init__(self, labels: tuple, score: float, context: tuple, partial: str, words: tuple, rank_bonus: float):
        self.labels = labels
        self.score = score  # alpha * LM + beta * units + committed hotword bonus
        self.rank_bonus = rank_bonus  # the score plus the hint of a hotword being spelled: ranks the beam
        self.context = context  # LM history (units), at most order - 1
        self.partial = partial  # the word being spelled
        self.words = words  # completed words (for hotword phrases)
        self.kids: dict = {}


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
            f", unknown words cost {o.unknown_penalty}" if o.known is not None else "") + (
            f", hotwords {sorted(o.hotwords)}" if o.hotwords else "") + ")"
        weights = [max(w, 0.0) for w in o.phrases.values()] or [0.0]
        self.bonus_bound = max(o.beta, 0.0) + sum(weights) + max(weights)  # the most one label adds to a score

    def __call__(self, log_probs, lengths, alphabet, frame_unit) -> list[Hypothesis]:
        log_probs = np.asarray(log_probs)
        units = np.broadcast_to(np.asarray(frame_unit, dtype=np.float64), (len(log_probs),))
        return [self.decode_one(lp[: int(n)], alphabet, float(u))
                for lp, n, u in zip(log_probs, np.asarray(lengths), units)]

    # ---- the text side: what appending one character does to a prefix ----

    def _word_score(self, p: _Text, word: str) -> tuple[float, tuple] | None:
        """(score added, new LM context) for completing ``word``; None if the lexicon forbids it."""
        o = self.options
        if o.prefixes is not None and word not in o.lexicon:
            return None
        char_lm = o.lm is not None and o.lm.unit == "char"
        score, context = (0.0 if char_lm else o.beta), p.context
        if o.known is not None:
            score -= o.unknown_penalty * unknown_parts(word, o.known)
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

    def _text(self, labels: tuple, score: float, context: tuple, partial: str, words: tuple) -> _Text:
        return _Text(labels, score, context, partial, words,
                     score + self._hint(partial) if self.options.first_words else score)

    def _extend(self, p: _Text, label: int, char: str) -> _Text | None:
        """The prefix ``p`` followed by ``label``; None if that is not allowed."""
        o = self.options
        score, context, partial, words = p.score, p.context, p.partial, p.words
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
        if o.lm is not None and o.lm.unit == "char":  # the context is the character history
            unit = SPACE if char == " " else char
            score += o.alpha * LN10 * o.lm.score(context, unit) + o.beta
            context = (context + (unit,))[1 - o.lm.order:] if o.lm.order > 1 else ()
        return self._text(p.labels + (label,), score, context, partial, words)

    def _finish(self, p: _Text) -> float | None:
        """The text score of a prefix as a whole sentence; None if the lexicon forbids its last word."""
        o = self.options
        score, context = p.score, p.context
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

    def _candidates(self, log_probs: np.ndarray) -> list[list[tuple[int, float]]]:
        """Per frame, the ``top_k`` most likely labels but the blank above ``prune``: (label, log-prob)."""
        o = self.options
        k = min(o.top_k, log_probs.shape[1])
        best = np.argpartition(log_probs, -k, axis=1)[:, -k:]
        scores = np.take_along_axis(log_probs, best, axis=1)
        keep = (best != 0) & (scores > o.prune)
        return [[(c, s) for c, s, ok in zip(cs, ss, oks) if ok]
                for cs, ss, oks in zip(best.tolist(), scores.astype(np.float64).tolist(), keep.tolist())]

    def decode_one(self, log_probs: np.ndarray, alphabet, frame_unit: float) -> Hypothesis:
        """The best labelling of one utterance's ``log_probs`` (T, V)."""
        o = self.options
        root = self._text((), 0.0, ("<s>",) if o.lm is not None else (), "", ())
        # the beam: prefix -> [log p ending in blank, log p ending in a label, tokens]; tokens
        # are linked: (earlier tokens, label, first frame, last frame, best posterior)
        beam = {root: [0.0, NEG, None]}
        blanks = log_probs[:, 0].astype(np.float64).tolist()
        for t, (candidates, blank) in enumerate(zip(self._candidates(log_probs), blanks)):
            if candidates:
                beam = self._step(beam, candidates, blank, t, alphabet.symbols)
            else:  # a blank frame (most of them): every prefix stays, in the same order
                for entry in beam.values():
                    entry[0], entry[1] = _add(entry[0], entry[1]) + blank, NEG
        return self._hypothesis(beam, alphabet, frame_unit)

    def _step(self, beam: dict, candidates: list, blank: float, t: int, symbols) -> dict:
        """The beam after frame ``t``, whose labels but the blank are ``candidates``."""
        following: dict[_Text, list] = {}
        unseen = []  # new prefixes, text not worked out yet: (acoustic + parent's score, acoustic, parent, label, ...)
        for p, (p_b, p_nb, tokens) in beam.items():
            total = _add(p_b, p_nb)
            same = following.get(p)
            if same is None:
                same = following[p] = [NEG, NEG, tokens]
            same[0] = _add(same[0], total + blank)
            last = p.labels[-1] if p.labels else None
            for c, pc in candidates:
                if c == last:  # the same label again: the same prefix, unless a blank came between
                    same[1] = _add(same[1], p_nb + pc)
                    if p_nb > NEG and same[2] is not None:
                        before, label, start, _, prob = same[2]
                        same[2] = (before, label, start, t, max(prob, math.exp(pc)))
                    source = p_b
                else:
                    source = total
                if source == NEG:
                    continue
                child = p.kids.get(c, p)  # p itself: not worked out yet
                if child is p:
                    unseen.append((source + pc + p.score, source + pc, p, c, tokens, pc))
                elif child is not None:
                    entry = following.get(child)
                    if entry is None:
                        entry = following[child] = [NEG, NEG, (tokens, c, t, t, math.exp(pc))]
                    entry[1] = _add(entry[1], source + pc)
        ranked = [(_add(e[0], e[1]) + p.rank_bonus, p, e) for p, e in following.items()]
        if unseen:
            self._admit(ranked, unseen, symbols, t)
        ranked.sort(key=lambda item: item[0], reverse=True)
        o = self.options
        last = ranked[0][0] - o.gap
        return {p: e for i, (rank, p, e) in enumerate(ranked[: o.beam_size]) if rank >= last or i < o.nbest}

    def _admit(self, ranked: list, unseen: list, symbols, t: int) -> None:
        """Add to ``ranked`` (rank, prefix, entry) the prefixes of ``unseen`` that can enter
        the beam: their text (LM scores) is worked out best bound first, and only while the
        bound beats the beam's last place and lies within ``gap`` of its best. A label adds
        at most the unit bonus and the hotword weights to a prefix's score (an LM
        probability is at most 1)."""
        o = self.options
        places = sorted(-r for r, _, _ in ranked)  # negated ranks, best first
        unseen.sort(key=lambda u: u[0], reverse=True)
        for bound, acoustic, p, c, tokens, pc in unseen:
            most = bound + self.bonus_bound  # the best rank it could have
            full = len(places) >= o.beam_size and most <= -places[o.beam_size - 1]
            behind = most < -places[0] - o.gap and len(places) >= o.nbest and most <= -places[o.nbest - 1]
            if full or behind:
                break  # neither this one nor any after it can enter the beam
            child = p.kids[c] = self._extend(p, c, symbols[c])
            if child is not None:
                rank = acoustic + child.rank_bonus
                ranked.append((rank, child, [NEG, acoustic, (tokens, c, t, t, math.exp(pc))]))
                bisect.insort(places, -rank)

    def _hypothesis(self, beam: dict, alphabet, frame_unit: float) -> Hypothesis:
        """The best of the last beam as a whole sentence (LM end of sentence, last word), with the n-best."""
        finished = []
        for p, (p_b, p_nb, tokens) in beam.items():
            text_score = self._finish(p)
            if text_score is not None:
                finished.append((_add(p_b, p_nb) + text_score, p, tokens))
        if not finished:  # the lexicon ruled every prefix out: keep the acoustically best
            finished = [(_add(p_b, p_nb), p, tokens) for p, (p_b, p_nb, tokens) in beam.items()]
        finished.sort(key=lambda x: x[0], reverse=True)
        _, best, linked = finished[0]
        tokens = []
        while linked is not None:
            linked, label, start, end, prob = linked
            tokens.append(Token(label, start, end + 1, prob))
        tokens.reverse()
        text = " ".join(alphabet.decode(best.labels).split())
        hyp = Hypothesis(text, tokens, words_from_tokens(tokens, alphabet, frame_unit), frame_unit)
        hyp.alternatives = [{"text": " ".join(alphabet.decode(q.labels).split()), "score": round(s, 3)}
                            for s, q, _ in finished[: self.options.nbest]]
        return hyp


WORD_EDGES = string.punctuation + "«»“”‘’…"


def unknown_parts(word: str, known: frozenset) -> int:
    """How many parts of ``word`` are not in ``known`` (lowercase words): the word with its
    punctuation stripped, whole if it is known (``aujourd'hui``), else split at apostrophes
    and hyphens (``l'histoire``: ``l``, ``histoire``), each part compared case-folded; parts
    holding a digit count as known."""
    word = word.strip(WORD_EDGES)
    if word.lower() in known:
        return 0
    parts = re.split(r"['’-]", word)
    return sum(1 for part in parts if part and part.lower() not in known and not any(c.isdigit() for c in part))


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
