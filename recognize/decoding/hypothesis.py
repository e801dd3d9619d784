"""What every decoder returns: a :class:`Hypothesis` of text, its tokens (label, output
frames, posterior) and its words with their extent (seconds of audio, or pixels of a line)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..inputs.text import Alphabet


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
