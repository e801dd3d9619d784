"""Output formats: txt, json, srt, vtt, tsv (word times or character positions from CTC frames)."""

from __future__ import annotations

import json
from dataclasses import asdict

from .hypothesis import Hypothesis, Word

CUE_WORDS, CUE_SECONDS = 10, 5.0  # subtitle cues end after this many words or seconds


def cues(words: list[Word]) -> list[list[Word]]:
    """Group words into subtitle cues."""
    groups: list[list[Word]] = []
    for word in words:
        if groups and len(groups[-1]) < CUE_WORDS and word.end - groups[-1][0].start <= CUE_SECONDS:
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def characters(hyp: Hypothesis, alphabet) -> list[dict]:
    """Each recognized character with its x-range in the input image and its posterior."""
    return [{"char": alphabet.symbols[t.label], "x0": round(t.start * hyp.frame_unit, 1),
             "x1": round(t.end * hyp.frame_unit, 1), "confidence": round(t.prob, 4)} for t in hyp.tokens]


def render(hyp: Hypothesis, fmt: str, source: str = "", extent: float | None = None, alphabet=None) -> str:
    """The text of one result in ``fmt`` (txt, json, srt, vtt or tsv).

    With ``alphabet`` (handwriting), json gives the image ``width`` and each character's
    x-range and confidence; otherwise the audio ``duration`` and the words' times.
    """
    if fmt == "txt":
        return hyp.text + "\n"
    if fmt == "json":
        if alphabet is not None:
            record = {"file": source, "text": hyp.text, "width": extent, "characters": characters(hyp, alphabet)}
        else:
            record = {"file": source, "text": hyp.text, "duration": extent, "words": [asdict(w) for w in hyp.words]}
        if len(hyp.alternatives) > 1:
            record["alternatives"] = hyp.alternatives
        return json.dumps(record, ensure_ascii=False) + "\n"
    if fmt == "tsv":
        rows = ["start\tend\tword\tconfidence"]
        rows += [f"{w.start:.3f}\t{w.end:.3f}\t{w.word}\t{w.confidence:.4f}" for w in hyp.words]
        return "\n".join(rows) + "\n"
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        blocks = [
            (f"{i}\n" if fmt == "srt" else "")
            + f"{timestamp(group[0].start, sep)} --> {timestamp(group[-1].end, sep)}\n"
            + " ".join(w.word for w in group) + "\n"
            for i, group in enumerate(cues(hyp.words), 1)
        ]
        return ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(blocks)
    raise ValueError(f"unknown format {fmt!r}")
