"""Transcript output formats: txt, json, srt, vtt, tsv (word timings from CTC frames)."""

from __future__ import annotations

import json
from dataclasses import asdict

from .decoding import Hypothesis, Word

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


def render(hyp: Hypothesis, fmt: str, source: str = "", duration: float | None = None) -> str:
    """The text of one transcript in ``fmt`` (one of txt, json, srt, vtt, tsv)."""
    if fmt == "txt":
        return hyp.text + "\n"
    if fmt == "json":
        record = {"file": source, "text": hyp.text, "duration": duration, "words": [asdict(w) for w in hyp.words]}
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
