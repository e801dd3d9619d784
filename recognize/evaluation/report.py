"""``recognize evaluate --report DIR``: the files of an evaluation report.

    summary.json       everything --json prints: counts, WER/CER with bootstrap 95 %
                       intervals, model, decoder, text normalization, manifest, date, version
    utterances.jsonl   one line per utterance, worst first (fields: recognize.evaluation)
    utterances.csv     the same as a spreadsheet, alignments written inline
    confusions.json    the most frequent substitutions, deletions and insertions
    breakdowns.json    WER/CER by each manifest field that groups rows, and by length
    ref.trn, hyp.trn   references and hypotheses as scored, in NIST sclite's trn format,
                       so that sclite can check the figures
    report.html        all of it on one self-contained page (recognize.html_report)
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from ..atomic import atomic_write_text
from .metrics import Counts

TOP = 20  # confusions listed per kind
LENGTH_BUCKETS = [(0, 0), (1, 1), (2, 3), (4, 7), (8, 15), (16, None)]  # reference words


def edit_totals(utterances: list[dict], unit: str) -> tuple[list[int], list[int]]:
    """Per utterance, its edits and its reference length in ``unit`` (``words`` or ``chars``)."""
    counts = [Counts(**u[unit]) for u in utterances]
    return [c.errors for c in counts], [c.reference_length for c in counts]


def inline_alignment(ops, sep: str = " ") -> str:
    """``A [B->C] [-D] [+E]``: hits as they are, substitutions, deletions, insertions
    marked; ``sep`` between units (``""`` for characters, whose spaces are units)."""
    marks = {"=": "{r}", "S": "[{r}->{h}]", "D": "[-{r}]", "I": "[+{h}]"}
    return sep.join(marks[op].format(r=r, h=h) for op, r, h in ops)


def confusions(utterances: list[dict], top: int = TOP) -> dict:
    """``{"words"|"chars": {"substitutions": [[ref, hyp, n], ...], "deletions": [[ref, n], ...],
    "insertions": [[hyp, n], ...]}}``, most frequent first."""
    result = {}
    for unit in ("words", "chars"):
        subs, dels, ins = Counter(), Counter(), Counter()
        for u in utterances:
            for op, r, h in u["alignment"][unit]:
                if op == "S":
                    subs[r, h] += 1
                elif op == "D":
                    dels[r] += 1
                elif op == "I":
                    ins[h] += 1
        result[unit] = {
            "substitutions": [[r, h, n] for (r, h), n in subs.most_common(top)],
            "deletions": [[r, n] for r, n in dels.most_common(top)],
            "insertions": [[h, n] for h, n in ins.most_common(top)],
        }
    return result


def group_scores(utterances: list[dict], key) -> list[dict]:
    """``[{"group", "n", "wer", "cer", "words", "chars"}]`` for the groups ``key(u)`` makes, in first-seen order."""
    groups: dict = {}
    for u in utterances:
        groups.setdefault(key(u), []).append(u)
    out = []
    for name, members in groups.items():
        words = sum((Counts(**u["words"]) for u in members), Counts())
        chars = sum((Counts(**u["chars"]) for u in members), Counts())
        out.append({"group": name, "n": len(members), "wer": round(words.rate, 4), "cer": round(chars.rate, 4),
                    "words": words.reference_length, "chars": chars.reference_length})
    return out


def bucket_name(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+ words"
    return f"{low} word{'' if low == 1 else 's'}" if low == high else f"{low}-{high} words"


def length_bucket(u: dict) -> str:
    """The utterance's bucket of :data:`LENGTH_BUCKETS` by its number of reference words."""
    n = Counts(**u["words"]).reference_length
    return next(bucket_name(low, high) for low, high in LENGTH_BUCKETS if low <= n and (high is None or n <= high))


def grouping_fields(utterances: list[dict]) -> list[str]:
    """Manifest fields that group rows: plain values shared by some rows but not all."""
    fields = []
    for name in sorted({k for u in utterances for k in u["fields"]}):
        values = [u["fields"].get(name) for u in utterances]
        if all(isinstance(v, (str, int, bool)) for v in values) and 1 < len(set(values)) < len(values):
            fields.append(name)
    return fields


def breakdowns(utterances: list[dict]) -> dict:
    """``{field: [group scores, worst WER first], ..., "length": [by reference words, shortest first]}``."""
    out = {name: sorted(group_scores(utterances, lambda u, name=name: str(u["fields"].get(name))),
                        key=lambda g: (-g["wer"], -g["cer"], g["group"]))
           for name in grouping_fields(utterances)}
    order = [bucket_name(low, high) for low, high in LENGTH_BUCKETS]
    out["length"] = sorted(group_scores(utterances, length_bucket), key=lambda g: order.index(g["group"]))
    return out


def utterances_csv(utterances: list[dict]) -> str:
    """One row per utterance; the manifest's fields as extra columns."""
    extent = "duration" if utterances and "duration" in utterances[0] else "width"
    columns = ["id", "reference", "hypothesis", "wer", "cer", "word_errors", "word_substitutions",
               "word_deletions", "word_insertions", "reference_words", "char_errors", "reference_chars",
               extent, "confidence", "word_alignment", "char_alignment"]
    fields = sorted({k for u in utterances for k in u["fields"]} - set(columns))
    columns += fields
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for u in utterances:
        w, c = Counts(**u["words"]), Counts(**u["chars"])
        writer.writerow([u["id"], u["reference"], u["hypothesis"], u["wer"], u["cer"], w.errors, w.substitutions,
                         w.deletions, w.insertions, w.reference_length, c.errors, c.reference_length, u[extent],
                         u["confidence"], inline_alignment(u["alignment"]["words"]),
                         inline_alignment(u["alignment"]["chars"], "")] + [u["fields"].get(f, "") for f in fields])
    return out.getvalue()


def trn_lines(utterances: list[dict], text: str) -> str:
    """sclite's trn format, one ``TEXT (speaker-id)`` line per utterance sorted by id
    (sclite takes the speaker from the id: the part before its first ``-``)."""
    lines = []
    for u in sorted(utterances, key=lambda u: u["id"]):
        speaker = str(u["fields"].get("speaker", ""))
        name = u["id"] if not speaker or u["id"].startswith(speaker + "-") else f"{speaker}-{u['id']}"
        lines.append(f"{u[text]} ({name})\n")
    return "".join(lines)


def write_report(folder: str | Path, summary: dict, utterances: list[dict], failures=(), recognizer=None,
                 pages=()) -> None:
    """Write the report files into ``folder``, each atomically. ``recognizer`` (optional)
    is used again on the worst few files, for the pictures in report.html; ``pages`` (page
    evaluations) are drawn there with their found and reference lines."""
    from .html import render_html

    folder = Path(folder)
    extras = {"confusions": confusions(utterances), "breakdowns": breakdowns(utterances)}
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(folder / "utterances.jsonl",
                      "".join(json.dumps(u, ensure_ascii=False) + "\n" for u in utterances))
    atomic_write_text(folder / "utterances.csv", utterances_csv(utterances))
    atomic_write_text(folder / "ref.trn", trn_lines(utterances, "reference"))
    atomic_write_text(folder / "hyp.trn", trn_lines(utterances, "hypothesis"))
    for name, value in extras.items():
        atomic_write_text(folder / f"{name}.json", json.dumps(value, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(folder / "report.html",
                      render_html(summary, utterances, extras["confusions"], extras["breakdowns"], failures, recognizer,
                                  pages))
