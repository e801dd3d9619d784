"""Word and character error rates with substitution, deletion and insertion counts (jiwer).

Corpus-level rates are total edits over total reference units (never a mean of
per-utterance rates). Characters include the spaces between words, as in kraken,
Calamari and jiwer's CER.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counts:
    """Edit counts of one or many (reference, hypothesis) pairs, for one unit (words or chars)."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    hits: int = 0

    @property
    def reference_length(self) -> int:
        return self.substitutions + self.deletions + self.hits

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """errors / reference length (an empty reference counts as length 1)."""
        return self.errors / max(self.reference_length, 1)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values())))


def align(reference: str, hypothesis: str, unit: str = "word") -> list[tuple[str, str, str]]:
    """The minimum-edit alignment of two strings, as ``(op, reference unit, hypothesis
    unit)`` triples; ``op`` is ``=`` (hit), ``S``, ``D`` (the hypothesis unit is ``""``)
    or ``I`` (the reference unit is ``""``). ``unit`` is ``"word"`` or ``"char"``."""
    import jiwer

    ref = reference.split() if unit == "word" else list(reference)
    hyp = hypothesis.split() if unit == "word" else list(hypothesis)
    if not ref or not hyp:  # jiwer refuses empty references
        return [("D", r, "") for r in ref] + [("I", "", h) for h in hyp]
    out = (jiwer.process_words if unit == "word" else jiwer.process_characters)(reference, hypothesis)
    ops = []
    for chunk in out.alignments[0]:
        r, h = ref[chunk.ref_start_idx : chunk.ref_end_idx], hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type in ("equal", "substitute"):
            ops += [("=" if chunk.type == "equal" else "S", a, b) for a, b in zip(r, h)]
        elif chunk.type == "delete":
            ops += [("D", a, "") for a in r]
        else:
            ops += [("I", "", b) for b in h]
    return ops


def counts_of(ops: list[tuple[str, str, str]]) -> Counts:
    """Edit counts of an :func:`align` result."""
    ops = [op for op, _, _ in ops]
    return Counts(ops.count("S"), ops.count("D"), ops.count("I"), ops.count("="))


def count_errors(reference: str, hypothesis: str, unit: str = "word") -> Counts:
    """Edit counts between two strings; ``unit`` is ``"word"`` or ``"char"``."""
    return counts_of(align(reference, hypothesis, unit))


def corpus_errors(references: list[str], hypotheses: list[str]) -> dict:
    """Corpus-level WER and CER with their counts: ``{"wer", "cer", "words": Counts, "chars": Counts}``."""
    words, chars = Counts(), Counts()
    for ref, hyp in zip(references, hypotheses, strict=True):
        words += count_errors(ref, hyp, "word")
        chars += count_errors(ref, hyp, "char")
    return {"wer": words.rate, "cer": chars.rate, "words": words, "chars": chars}


def bootstrap_interval(errors, lengths, samples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % confidence interval of a corpus error rate ``sum(errors) / sum(lengths)`` by
    resampling utterances with replacement (Bisani and Ney 2004). Seeded: the same
    inputs give the same interval."""
    import numpy as np

    errors, lengths = np.asarray(errors, dtype=float), np.asarray(lengths, dtype=float)
    if len(errors) == 0:
        return (0.0, 0.0)
    picks = np.random.default_rng(seed).integers(len(errors), size=(samples, len(errors)))
    rates = errors[picks].sum(1) / np.maximum(lengths[picks].sum(1), 1)
    low, high = np.percentile(rates, [2.5, 97.5])
    return float(low), float(high)


def paired_bootstrap(errors_a, errors_b, lengths, samples: int = 10000, seed: int = 0) -> dict:
    """Is system B's corpus error rate different from A's on the same utterances?

    Resamples utterances with replacement, the same draw for both systems, and returns
    ``{"delta": B - A, "interval": 95 % interval of the delta, "p": two-sided p-value}``,
    where p is twice the smaller share of resamples in which the delta is <= 0 or >= 0
    (capped at 1)."""
    import numpy as np

    a, b = np.asarray(errors_a, dtype=float), np.asarray(errors_b, dtype=float)
    lengths = np.asarray(lengths, dtype=float)
    total = max(lengths.sum(), 1)
    picks = np.random.default_rng(seed).integers(len(a), size=(samples, len(a)))
    denominators = np.maximum(lengths[picks].sum(1), 1)
    deltas = (b[picks].sum(1) - a[picks].sum(1)) / denominators
    p = min(1.0, 2 * min((deltas <= 0).mean(), (deltas >= 0).mean()))
    low, high = np.percentile(deltas, [2.5, 97.5])
    return {"delta": float((b.sum() - a.sum()) / total), "interval": (float(low), float(high)), "p": float(p)}
