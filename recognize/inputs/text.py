"""Alphabet and text normalization. Label 0 is the CTC blank."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

BLANK = "<blk>"


def normalize_text(text: str) -> str:
    """Unicode NFC and single spaces, trimmed: the one normalization used for training,
    decoding and scoring."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Scoring:
    """How references and hypotheses are normalized before they are scored. The default,
    NFC and single spaces, is the normalization the models are trained with; the other
    options make scores comparable with tools that fold case or drop punctuation."""

    unicode: str = "NFC"  # or "NFKC" (compatibility forms: ligatures, full-width, superscripts)
    lowercase: bool = False
    remove_punctuation: bool = False  # every Unicode punctuation character (category P*)

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize(self.unicode, text)
        if self.lowercase:
            text = text.casefold()
        if self.remove_punctuation:
            text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
        return " ".join(text.split())

    def describe(self) -> str:
        """E.g. ``NFC, whitespace`` or ``NFKC, lowercase, no punctuation, whitespace``."""
        parts = [self.unicode] + ["lowercase"] * self.lowercase + ["no punctuation"] * self.remove_punctuation
        return ", ".join(parts + ["whitespace"])


class Alphabet:
    """Maps characters to labels ``1..V-1``; label 0 is the blank.

    Characters not in the alphabet are skipped by :meth:`encode` (and counted by
    :meth:`unknown`), never a crash.
    """

    def __init__(self, symbols: list[str]):
        if not symbols or symbols[0] != BLANK:
            raise ValueError("the first symbol of an alphabet must be the blank")
        if len(set(symbols)) != len(symbols):
            raise ValueError("alphabet symbols must be unique")
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def from_texts(cls, texts) -> "Alphabet":
        """Every character seen in ``texts`` (after normalization), sorted, after the blank."""
        chars = set()
        for text in texts:
            chars.update(normalize_text(text))
        return cls([BLANK] + sorted(chars))

    def union(self, other: "Alphabet") -> "Alphabet":
        """This alphabet's symbols in their order, then ``other``'s new ones."""
        return Alphabet(self.symbols + [s for s in other.symbols if s not in self.index])

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other) -> bool:
        return isinstance(other, Alphabet) and self.symbols == other.symbols

    def encode(self, text: str) -> list[int]:
        """Normalized text -> labels, skipping characters outside the alphabet."""
        return [self.index[c] for c in normalize_text(text) if c in self.index]

    def unknown(self, text: str) -> set[str]:
        """Characters of ``text`` that the alphabet cannot encode."""
        return {c for c in normalize_text(text) if c not in self.index}

    def decode(self, labels) -> str:
        """Labels (no blanks expected; blanks are dropped) -> text."""
        return "".join(self.symbols[i] for i in labels if i != 0)
