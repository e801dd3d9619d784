"""``recognize evaluate``: corpus WER/CER of a model on a manifest, and a per-utterance report."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .atomic import atomic_write_text
from .manifest import read_manifest
from .metrics import Counts, corpus_errors, count_errors
from .transcription import report_failures


def evaluate_manifest(recognizer, manifest: str | Path, progress=None, rows: list[dict] | None = None) -> dict:
    """Transcribe every row of ``manifest`` (or ``rows``, when it has been read already) and score it.

    Returns ``{"summary": {...}, "utterances": [...], "failures": [(id, reason), ...]}``;
    the summary has ``n``, ``wer``, ``cer``, ``substitutions``, ``deletions``,
    ``insertions`` (word level), the same for characters under ``chars``,
    ``wall_seconds``, and for speech ``audio_seconds`` and ``rtfx`` (audio seconds per
    wall second of loading, features, model and decoding), for handwriting
    ``lines_per_second``. Rows whose file cannot be read are listed in ``failures``
    and left out of the scores.
    """
    rows = read_manifest(manifest) if rows is None else rows
    by_path: dict[str, list[dict]] = {}
    for row in rows:
        by_path.setdefault(media_path(row), []).append(row)
    failures: list[tuple[str, str]] = []

    def on_error(path, error):
        failures.extend((row["id"], str(error)) for row in by_path[path])

    started = time.perf_counter()
    hyps = {}
    for path, hyp, extent in recognizer.transcribe_files(list(by_path), on_error=on_error, progress=progress):
        hyps[path] = (hyp, extent)
    wall = time.perf_counter() - started

    extent_key = "duration" if recognizer.kind == "speech" else "width"
    utterances = []
    for row in rows:
        if media_path(row) not in hyps:
            continue
        hyp, extent = hyps[media_path(row)]
        words, chars = count_errors(row["text"], hyp.text, "word"), count_errors(row["text"], hyp.text, "char")
        utterances.append({
            "id": row["id"], "reference": row["text"], "hypothesis": hyp.text, extent_key: round(extent, 3),
            "wer": round(words.rate, 4), "cer": round(chars.rate, 4),
            "words": asdict(words), "chars": asdict(chars),
        })
    scores = corpus_errors([u["reference"] for u in utterances], [u["hypothesis"] for u in utterances])
    words: Counts = scores["words"]
    summary = {
        "manifest": str(manifest),
        "n": len(utterances),
        "failed": len(failures),
        "wer": scores["wer"],
        "cer": scores["cer"],
        "substitutions": words.substitutions,
        "deletions": words.deletions,
        "insertions": words.insertions,
        "reference_words": words.reference_length,
        "chars": {**asdict(scores["chars"]), "reference_chars": scores["chars"].reference_length},
        "wall_seconds": round(wall, 3),
    }
    if recognizer.kind == "speech":
        audio_seconds = sum(extent for _, extent in hyps.values())
        summary["audio_seconds"] = round(audio_seconds, 3)
        summary["rtfx"] = round(audio_seconds / wall, 2) if wall > 0 else None
    else:
        summary["lines_per_second"] = round(len(hyps) / wall, 2) if wall > 0 else None
    utterances.sort(key=lambda u: (-u["wer"], -u["cer"], u["id"]))  # worst first
    return {"summary": summary, "utterances": utterances, "failures": failures}


def media_path(row: dict) -> str:
    return row.get("audio") or row["image"]


def manifest_kind(rows: list[dict]) -> str:
    """``handwriting`` for a manifest of image rows, else ``speech``."""
    return "handwriting" if rows and "image" in rows[0] else "speech"


def format_table(summary: dict) -> str:
    """An sclite-style summary table."""
    c = summary["chars"]
    speech = "rtfx" in summary
    lines = [
        f"{summary['manifest']}: {summary['n']} " + (f"utterances, {summary['audio_seconds']:.1f} s of audio"
                                                     if speech else "lines")
        + (f", {summary['failed']} failed" if summary["failed"] else ""),
        f"{'':6} {'ref':>7} {'sub':>6} {'del':>6} {'ins':>6} {'err':>6} {'rate':>8}",
        f"{'words':6} {summary['reference_words']:7d} {summary['substitutions']:6d} {summary['deletions']:6d} "
        f"{summary['insertions']:6d} {summary['substitutions'] + summary['deletions'] + summary['insertions']:6d} "
        f"{100 * summary['wer']:7.2f}%",
        f"{'chars':6} {c['reference_chars']:7d} {c['substitutions']:6d} {c['deletions']:6d} "
        f"{c['insertions']:6d} {c['substitutions'] + c['deletions'] + c['insertions']:6d} {100 * summary['cer']:7.2f}%",
        f"WER {100 * summary['wer']:.2f} %, CER {100 * summary['cer']:.2f} %, "
        + (f"{summary['rtfx']}x real time" if speech else f"{summary['lines_per_second']} lines/s")
        + f" ({summary['wall_seconds']:.1f} s)",
    ]
    return "\n".join(lines)


def evaluate_command(manifest, model=None, as_json=False, report=None, device="cpu", threads=0, decoder="greedy") -> int:
    from tqdm import tqdm

    from .api import load_model

    rows = read_manifest(manifest)
    recognizer = load_model(model, device=device, threads=threads, decoder=decoder, kind=manifest_kind(rows))
    with tqdm(total=len(rows), unit="file", disable=None, file=sys.stderr, leave=False) as bar:
        result = evaluate_manifest(recognizer, manifest, progress=bar.update, rows=rows)
    summary = {**result["summary"], "model": str(recognizer.path), "decoder": decoder}
    if report:
        report = Path(report)
        atomic_write_text(report / "summary.json", json.dumps(summary, indent=2) + "\n")
        atomic_write_text(report / "utterances.jsonl",
                          "".join(json.dumps(u, ensure_ascii=False) + "\n" for u in result["utterances"]))
    print(json.dumps(summary) if as_json else format_table(summary))
    report_failures(result["failures"], summary["n"] + summary["failed"])
    return 1 if result["failures"] else 0
