"""n-gram language models: built here from text with interpolated Kneser-Ney smoothing,
read and written as ARPA files (so models built by KenLM's ``lmplz`` work too); KenLM's
binary files are read through the ``kenlm`` module when it is installed (never required).

Units are words (``unit="word"``) or characters (``unit="char"``, the space written as
``<sp>``). Sentences are wrapped in ``<s>`` ... ``</s>``; ``<unk>`` takes the mass
smoothing leaves for unseen units. Scores are log10 probabilities, as in ARPA.

Smoothing (Chen and Goodman 1998, interpolated Kneser-Ney, one discount per order):

    p(w | h) = max(a(h w) - D, 0) / a(h .)  +  D * N1+(h .) / a(h .) * p(w | h')

where ``a`` is the raw count for the highest order and for n-grams that begin with
``<s>``, and the number of distinct left neighbours (the continuation count) for the
others; ``D = n1 / (n1 + 2 n2)`` from the counts of counts of each order. In ARPA the
first term plus the interpolated lower order is the stored probability of a seen
n-gram, and ``D * N1+(h .) / a(h .)`` is the back-off weight of ``h``.
"""

from __future__ import annotations

import functools
import gzip
import math
from collections import Counter, defaultdict
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import RecognizeError

BOS, EOS, UNK, SPACE = "<s>", "</s>", "<unk>", "<sp>"
KNOWN_SCORES = 500_000  # remembered LM scores, at most (about 60 MB); then forgotten all at once
NO_PROB = -99.0  # log10 probability ARPA gives <s>, which is never predicted
KENLM_MAGIC = b"mmap lm "  # how KenLM's binary files begin


def units_of(text: str, unit: str) -> list[str]:
    """A sentence as LM units: its words, or its characters with spaces as ``<sp>``."""
    if unit == "word":
        return text.split()
    return [SPACE if c == " " else c for c in " ".join(text.split())]


class NGramLM:
    """An ARPA-style back-off n-gram model: ``probs[n-gram tuple]`` and ``backoffs[context tuple]``, log10."""

    def __init__(self, order: int, probs: dict[tuple, float], backoffs: dict[tuple, float], unit: str = "word"):
        self.order, self.probs, self.backoffs, self.unit = order, probs, backoffs, unit
        self.vocab = {g[0] for g in probs if len(g) == 1}
        self.known: dict[tuple, float] = {}  # (context, word) -> score: the beam asks the same again and again

    def score(self, context: tuple, word: str) -> float:
        """log10 p(word | context), backing off as ARPA prescribes; ``context`` holds at
        most ``order - 1`` units, oldest first."""
        key = (context, word)
        found = self.known.get(key)
        if found is None:
            if len(self.known) > KNOWN_SCORES:
                self.known.clear()
            found = self.known[key] = self._score(context, word)
        return found

    def _score(self, context: tuple, word: str) -> float:
        if word not in self.vocab:
            word = UNK
        context = context[-(self.order - 1) :] if self.order > 1 else ()
        penalty = 0.0
        while True:
            p = self.probs.get(context + (word,))
            if p is not None:
                return penalty + p
            if not context:
                return penalty + self.probs.get((UNK,), NO_PROB)
            penalty += self.backoffs.get(context, 0.0)
            context = context[1:]

    def sentence_score(self, text: str) -> float:
        """log10 probability of a whole sentence, ``</s>`` included."""
        history, total = (BOS,), 0.0
        for u in units_of(text, self.unit) + [EOS]:
            total += self.score(history, u)
            history = (history + (u,))[-(self.order - 1) :] if self.order > 1 else ()
        return total

    def perplexity(self, texts) -> float:
        """Per-unit perplexity over ``texts`` (``</s>`` counted as a unit)."""
        total, n = 0.0, 0
        for text in texts:
            total += self.sentence_score(text)
            n += len(units_of(text, self.unit)) + 1
        return 10 ** (-total / max(n, 1))

    # ---- building ----

    @classmethod
    def build(cls, texts, order: int = 3, unit: str = "word") -> "NGramLM":
        """Estimate an interpolated Kneser-Ney model of ``order`` from sentences."""
        if order < 1:
            raise RecognizeError(f"--order: must be >= 1, got {order}")
        counts: list[Counter] = [Counter() for _ in range(order + 1)]  # counts[n][n-gram]
        for text in texts:
            units = [BOS] + units_of(text, unit) + [EOS]
            for n in range(1, order + 1):
                for i in range(len(units) - n + 1):
                    counts[n][tuple(units[i : i + n])] += 1
        if not counts[1]:
            raise RecognizeError("no text to build a language model from")
        # adjusted counts: raw for the top order and <s>-initial n-grams, else continuation counts
        adjusted = [Counter() for _ in range(order + 1)]
        adjusted[order] = counts[order]
        for n in range(order, 1, -1):
            for gram in counts[n]:
                adjusted[n - 1][gram[1:]] += 1
        for n in range(1, order):
            for gram, c in counts[n].items():
                if gram[0] == BOS:
                    adjusted[n][gram] = c
        adjusted[1][(UNK,)] = 0
        discounts = [0.0] + [cls._discount(adjusted[n]) for n in range(1, order + 1)]

        probs: dict[tuple, float] = {}
        backoffs: dict[tuple, float] = {}
        vocab = [g[0] for g in adjusted[1] if g[0] != BOS]  # <s> is never predicted
        # unigrams: discounted, plus the discounted mass spread uniformly over the vocabulary
        total = sum(adjusted[1][(w,)] for w in vocab)
        seen = sum(1 for w in vocab if adjusted[1][(w,)] > 0)
        d = discounts[1]
        uniform = d * seen / total / len(vocab)
        prob1 = {}
        for w in vocab:
            prob1[(w,)] = max(adjusted[1][(w,)] - d, 0) / total + uniform
        interpolated = dict(prob1)
        for n in range(2, order + 1):
            by_context: dict[tuple, list] = defaultdict(list)
            for gram, c in adjusted[n].items():
                by_context[gram[:-1]].append((gram, c))
            d = discounts[n]
            for context, grams in by_context.items():
                context_total = sum(c for _, c in grams)
                gamma = d * len(grams) / context_total
                backoffs[context] = gamma
                for gram, c in grams:
                    lower = interpolated.get(gram[1:])
                    if lower is None:  # only when the lower order never saw it: back off further
                        lower = cls._lower(interpolated, backoffs, gram[1:])
                    interpolated[gram] = max(c - d, 0) / context_total + gamma * lower
        for gram, p in interpolated.items():
            probs[gram] = math.log10(p) if p > 0 else NO_PROB
        probs[(BOS,)] = NO_PROB
        log_backoffs = {ctx: math.log10(g) for ctx, g in backoffs.items() if g > 0}
        return cls(order, probs, log_backoffs, unit)

    @staticmethod
    def _discount(counts: Counter) -> float:
        n1 = sum(1 for c in counts.values() if c == 1)
        n2 = sum(1 for c in counts.values() if c == 2)
        if n1 == 0 or n1 + 2 * n2 == 0:
            return 0.5
        return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)

    @staticmethod
    def _lower(interpolated, backoffs, gram) -> float:
        weight = 1.0
        while gram not in interpolated and len(gram) > 1:
            weight *= backoffs.get(gram[:-1], 1.0)
            gram = gram[1:]
        return weight * interpolated.get(gram, interpolated.get((UNK,), 1e-9))

    # ---- ARPA ----

    def to_arpa(self) -> str:
        by_order: dict[int, list] = defaultdict(list)
        for gram in self.probs:
            by_order[len(gram)].append(gram)
        lines = ["\\data\\"] + [f"ngram {n}={len(by_order[n])}" for n in range(1, self.order + 1)] + [""]
        for n in range(1, self.order + 1):
            lines.append(f"\\{n}-grams:")
            for gram in sorted(by_order[n]):
                row = f"{self.probs[gram]:.6f}\t{' '.join(gram)}"
                if n < self.order and gram in self.backoffs:
                    row += f"\t{self.backoffs[gram]:.6f}"
                lines.append(row)
            lines.append("")
        lines.append("\\end\\")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write an ARPA file (gzip-compressed when the name ends in ``.gz``), atomically;
        the unit is recorded in a comment line before ``\\data\\``."""
        text = f"# recognize n-gram LM, unit={self.unit}\n" + self.to_arpa()
        path = Path(path)
        if path.suffix == ".gz":
            from ..atomic import atomic_write

            atomic_write(path, lambda tmp: tmp.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0)))
        else:
            atomic_write_text(path, text)

    @classmethod
    def load(cls, path: str | Path, unit: str | None = None) -> "NGramLM":
        """Read an ARPA file (``.gz`` too). The unit is ``unit``, else our header comment's,
        else ``char`` when ``<sp>`` is a unigram, else ``word``. :class:`RecognizeError`
        names the file and line when it is not ARPA."""
        path = Path(path)
        lines = read_arpa_lines(path)
        if unit is None and lines and lines[0].startswith("# recognize"):
            unit = "char" if "unit=char" in lines[0] else "word"
        order, probs, backoffs = parse_arpa(lines, path)
        unit = unit or ("char" if (SPACE,) in probs else "word")
        return cls(order or max(len(g) for g in probs), probs, backoffs, unit)


def read_arpa_lines(path: Path) -> list[str]:
    """The lines of an ARPA file, gzip-compressed or not; one-line errors naming it."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    except OSError as e:
        raise RecognizeError(f"{path}: cannot read language model ({e.strerror})") from None
    except EOFError:
        raise RecognizeError(f"{path}: a truncated gzip archive (it ends before its data does)") from None
    except gzip.BadGzipFile as e:
        raise RecognizeError(f"{path}: a damaged gzip archive ({e})") from None
    except UnicodeDecodeError:
        raise RecognizeError(f"{path}: not an ARPA language model (not UTF-8 text)") from None
    return text.splitlines()


def parse_arpa(lines: list[str], path: Path) -> tuple[int, dict, dict]:
    """``(declared order, {gram: log10 prob}, {gram: log10 backoff})`` of an ARPA file's
    lines; :class:`RecognizeError` names ``path`` and the line where it is not ARPA, and
    a header whose counts the sections do not hold."""
    probs, backoffs, order, section = {}, {}, 0, None
    seen_data, declared, counted = False, {}, {}
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if section is not None and len(parts) > section and parts[0][0] not in "#\\":  # an n-gram: most lines
            try:
                prob = float(parts[0])
                backoff = float(parts[1 + section]) if len(parts) > 1 + section else None
            except ValueError:
                raise RecognizeError(f"{path}:{number}: malformed {section}-gram line") from None
            if not math.isfinite(prob) or (backoff is not None and not math.isfinite(backoff)):
                raise RecognizeError(f"{path}:{number}: a {section}-gram with a score that is not a number")
            gram = tuple(parts[1 : 1 + section])
            probs[gram] = prob
            if backoff is not None:
                backoffs[gram] = backoff
            counted[section] += 1
            continue
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == "\\data\\":
            seen_data = True
            continue
        if line == "\\end\\":
            break
        if line.startswith("ngram ") and section is None:
            try:
                n, count = (int(v) for v in line.split()[1].split("="))
            except ValueError:
                raise RecognizeError(f"{path}:{number}: malformed header line {line!r}") from None
            order, declared[n] = max(order, n), count
            continue
        if line.startswith("\\") and line.endswith("-grams:") and seen_data:
            section = int(line[1:].split("-")[0])
            counted.setdefault(section, 0)
            continue
        if section is None:
            raise RecognizeError(f"{path}:{number}: not an ARPA language model")
        raise RecognizeError(f"{path}:{number}: malformed {section}-gram line")  # too few fields
    if not probs:
        raise RecognizeError(f"{path}: not an ARPA language model (no n-grams)")
    wrong = [n for n in sorted(set(declared) | set(counted)) if declared.get(n, 0) != counted.get(n, 0)]
    if wrong:
        n = wrong[0]
        raise RecognizeError(f"{path}: its header declares {declared.get(n, 0)} {n}-grams, its \\{n}-grams: "
                             f"section holds {counted.get(n, 0)} (a truncated or edited file?)")
    return order, probs, backoffs


class KenLMModel:
    """A KenLM model (binary or ARPA) read by the optional ``kenlm`` module, with the face
    the beam search uses of :class:`NGramLM`: ``order``, ``unit`` and ``score``."""

    def __init__(self, path: str | Path, unit: str | None = None):
        import kenlm

        try:
            self.model = kenlm.Model(str(path))
        except (OSError, RuntimeError) as e:
            raise RecognizeError(f"{path}: KenLM cannot read it ({str(e).splitlines()[0]})") from None
        self.order = self.model.order
        self.unit = unit or ("char" if SPACE in self.model else "word")
        self._state = kenlm.State
        self.score = functools.lru_cache(maxsize=1 << 18)(self._score)

    def _score(self, context: tuple, word: str) -> float:
        """log10 p(word | context), ``context`` as in :meth:`NGramLM.score`."""
        state, out = self._state(), self._state()
        if context[:1] == (BOS,):
            self.model.BeginSentenceWrite(state)
            context = context[1:]
        else:
            self.model.NullContextWrite(state)
        for unit in context:
            self.model.BaseScore(state, unit, out)
            state, out = out, state
        return self.model.BaseScore(state, word, out)


def load_lm(path: str | Path, unit: str | None = None) -> NGramLM | KenLMModel:
    """The language model in ``path``: an ARPA file (read here), or a KenLM binary file
    (read by the ``kenlm`` module; a one-line error when it is not installed)."""
    try:
        with open(path, "rb") as f:
            binary = f.read(len(KENLM_MAGIC)) == KENLM_MAGIC
    except OSError as e:
        raise RecognizeError(f"{path}: cannot read language model ({e.strerror})") from None
    if not binary:
        return NGramLM.load(path, unit)
    try:
        import kenlm  # noqa: F401
    except ImportError:
        raise RecognizeError(f"{path}: a KenLM binary model; reading it needs the kenlm module "
                             "(pip install kenlm), or give the ARPA file it was built from") from None
    return KenLMModel(path, unit)
