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


def count_errors(reference: str, hypothesis: str, unit: str = "word") -> Counts:
    """Edit counts between two strings; ``unit`` is ``"word"`` or ``"char"``."""
    import jiwer

    ref = reference.split() if unit == "word" else list(reference)
    hyp = hypothesis.split() if unit == "word" else list(hypothesis)
    if not ref:  # jiwer refuses empty references: every hypothesis unit is an insertion
        return Counts(insertions=len(hyp))
    if not hyp:
        return Counts(deletions=len(ref))
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    out = process(reference, hypothesis)
    return Counts(out.substitutions, out.deletions, out.insertions, out.hits)


def corpus_errors(references: list[str], hypotheses: list[str]) -> dict:
    """Corpus-level WER and CER with their counts: ``{"wer", "cer", "words": Counts, "chars": Counts}``."""
    words, chars = Counts(), Counts()
    for ref, hyp in zip(references, hypotheses, strict=True):
        words += count_errors(ref, hyp, "word")
        chars += count_errors(ref, hyp, "char")
    return {"wer": words.rate, "cer": chars.rate, "words": words, "chars": chars}
