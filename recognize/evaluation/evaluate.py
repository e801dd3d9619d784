"""``recognize evaluate``: corpus WER/CER of a model on a manifest, and a per-utterance report."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from .. import distributed
from ..errors import RecognizeError
from ..inputs.manifest import media_path, read_manifest
from ..inputs.text import Scoring
from ..kinds import kind_of_rows
from .journal import fingerprint, open_journal, read_journal
from .metrics import Counts, align, bootstrap_interval, counts_of
from .report import edit_totals


def evaluate_manifest(recognizer, manifest: str | Path, progress=None, rows: list[dict] | None = None,
                      journal: str | Path | None = None, batch_size: int = 16, scoring: Scoring = Scoring(),
                      proc: distributed.Process = distributed.Process()) -> dict | None:
    """Transcribe every row of ``manifest`` (or ``rows``, when it has been read already) and score it.

    Returns ``{"summary": {...}, "utterances": [...], "failures": [(id, reason), ...]}``;
    the summary has ``n``, ``wer``, ``cer``, ``substitutions``, ``deletions``,
    ``insertions`` (word level), the same for characters under ``chars``,
    ``wall_seconds``, and for speech ``audio_seconds`` and ``rtfx`` (audio seconds per
    wall second of loading, features, model and decoding), for handwriting
    ``lines_per_second``, and ``ci95``: bootstrap 95 % intervals of the WER and CER.
    Rows whose file cannot be read are listed in ``failures`` and left out of the scores.

    Each utterance has ``id``, ``reference`` and ``hypothesis`` (as scored: normalized
    by ``scoring``), ``duration`` (seconds) or ``width`` (pixels), ``confidence`` (mean
    posterior of the recognized characters), ``wer``, ``cer``, edit counts under ``words``
    and ``chars``, the two alignments under ``alignment`` (``[op, ref, hyp]`` triples,
    see :func:`~recognize.metrics.align`), the manifest's other fields under
    ``fields``, and the media ``path``. They come worst first.

    With ``journal``, each finished file is appended to that JSON Lines file as it
    completes, and files already there (from an interrupted run of the same model and
    manifest) are not transcribed again; ``summary["resumed"]`` counts them, and the
    speed figures cover only the files transcribed in this run.

    Under torchrun (``proc``), each process transcribes every K-th row (with a journal of
    its own), rank 0 gathers the transcripts and scores the whole manifest, so the corpus
    WER/CER are exactly those of one process; the other ranks return None. The wall time
    is then the slowest process's, and ``rtfx`` the job's total throughput.
    """
    rows = read_manifest(manifest) if rows is None else rows
    kind = kind_of_rows(rows)
    if rows and kind != recognizer.kind:
        raise RecognizeError(f"{manifest}: a manifest of {kind.media}, but {recognizer.path} is a "
                             f"{recognizer.kind} model")
    by_path: dict[str, list[dict]] = {}
    for row in distributed.shard(rows, proc):
        by_path.setdefault(media_path(row), []).append(row)
    failures: list[tuple[str, str]] = []

    def on_error(path, error):
        failures.extend((row["id"], str(error)) for row in by_path[path])

    header = {"model": fingerprint(recognizer), "manifest": str(Path(manifest).resolve())}
    hyps, new_extent, resumed, wall = transcribe_paths(recognizer, list(by_path), journal, header, batch_size,
                                                       on_error, progress)
    if proc.distributed:
        parts = distributed.gather((hyps, failures, wall, new_extent, resumed), proc)
        if not proc.main:
            return None
        hyps = {path: hyp for part in parts for path, hyp in part[0].items()}
        failures = [failure for part in parts for failure in part[1]]
        wall, new_extent, resumed = max(p[2] for p in parts), sum(p[3] for p in parts), sum(p[4] for p in parts)

    utterances = score_rows(rows, hyps, scoring, recognizer.kind)
    summary = {"manifest": str(manifest), "n": len(utterances), "failed": len(failures), **scores(utterances),
               "normalization": scoring.describe(), "wall_seconds": round(wall, 3)}
    if resumed:
        summary["resumed"] = resumed
    if recognizer.kind.unit == "seconds":
        summary["audio_seconds"] = round(sum(extent for _, extent, _ in hyps.values()), 3)
        summary["rtfx"] = round(new_extent / wall, 2) if wall > 0 else None
    else:
        summary["lines_per_second"] = round((len(hyps) - resumed) / wall, 2) if wall > 0 else None
    utterances.sort(key=lambda u: (-u["wer"], -u["cer"], u["id"]))  # worst first
    return {"summary": summary, "utterances": utterances, "failures": failures}


def scores(utterances: list[dict]) -> dict:
    """The corpus figures of scored utterances: ``wer``, ``cer``, the word edits
    (``substitutions``, ``deletions``, ``insertions``, ``reference_words``), the character
    edits under ``chars``, and bootstrap 95 % intervals under ``ci95``."""
    words = sum((Counts(**u["words"]) for u in utterances), Counts())
    chars = sum((Counts(**u["chars"]) for u in utterances), Counts())
    return {"wer": words.rate, "cer": chars.rate, "substitutions": words.substitutions,
            "deletions": words.deletions, "insertions": words.insertions, "reference_words": words.reference_length,
            "chars": {**asdict(chars), "reference_chars": chars.reference_length},
            "ci95": {"wer": bootstrap_interval(*edit_totals(utterances, "words")),
                     "cer": bootstrap_interval(*edit_totals(utterances, "chars"))}}


def score_rows(rows: list[dict], hyps: dict, scoring: Scoring, kind) -> list[dict]:
    """One scored utterance (see :func:`evaluate_manifest`) for each row whose file has a
    transcript in ``hyps`` (``path -> (text, extent, confidence)``), in manifest order."""
    utterances = []
    for row in rows:
        path = media_path(row)
        if path not in hyps:
            continue
        text, extent, confidence = hyps[path]
        reference, hypothesis = scoring(row["text"]), scoring(text)
        word_ops, char_ops = align(reference, hypothesis, "word"), align(reference, hypothesis, "char")
        w, c = counts_of(word_ops), counts_of(char_ops)
        utterances.append({
            "id": row["id"], "reference": reference, "hypothesis": hypothesis, kind.extent: round(extent, 3),
            "confidence": confidence, "wer": round(w.rate, 4), "cer": round(c.rate, 4),
            "words": asdict(w), "chars": asdict(c), "alignment": {"words": word_ops, "chars": char_ops},
            "fields": {k: v for k, v in row.items() if k not in ("id", "audio", "image", "text")}, "path": path,
        })
    return utterances


def transcribe_paths(recognizer, paths: list[str], journal, header: dict, batch_size: int, on_error, progress):
    """``(hyps, new extent, resumed, wall seconds)``: ``{path: (text, extent, confidence)}``
    for each of ``paths``, those already in ``journal`` (a run of the same ``header``
    interrupted) taken from it and the rest transcribed and appended to it as they finish."""
    hyps = read_journal(journal, header) if journal else {}  # path -> (text, extent, confidence)
    resumed = len(hyps)
    log = open_journal(journal, header, resumed) if journal else None
    if progress and resumed:
        progress(resumed)
    started, new_extent = time.perf_counter(), 0.0
    try:
        todo = [path for path in paths if path not in hyps]
        for path, hyp, extent in recognizer.transcribe_files(todo, batch_size, on_error, progress, ordered=False):
            confidence = round(sum(t.prob for t in hyp.tokens) / len(hyp.tokens), 4) if hyp.tokens else None
            hyps[path] = (hyp.text, extent, confidence)
            new_extent += extent
            if log:
                record = {"path": path, "text": hyp.text, "extent": extent, "confidence": confidence}
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
                log.flush()
    finally:
        if log:
            log.close()
    return hyps, new_extent, resumed, time.perf_counter() - started
