"""``recognize compare A B``: two evaluation reports of the same utterances, the
difference in WER and CER, whether it is significant, and which utterances changed."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import RecognizeError
from .metrics import Counts, paired_bootstrap
from .report import edit_totals


def read_report(path: str | Path) -> tuple[dict, dict[str, dict]]:
    """``(summary, {id: utterance})`` of a report folder, or of the folder of a summary.json."""
    folder = Path(path)
    if folder.name == "summary.json" or folder.is_file():
        folder = folder.parent
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        lines = (folder / "utterances.jsonl").read_text(encoding="utf-8").splitlines()
        utterances = {u["id"]: u for u in map(json.loads, lines)}
    except OSError as e:
        raise RecognizeError(f"{folder}: not an evaluation report ({e.strerror}: {Path(e.filename).name}); "
                             "make one with `recognize evaluate MANIFEST --report DIR`") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise RecognizeError(f"{folder}: the report's files are not what `recognize evaluate --report` writes") from None
    return summary, utterances


def compare_reports(a: str | Path, b: str | Path, samples: int = 10000) -> dict:
    """Paired comparison on the utterances both reports scored.

    Returns ``{"a", "b": report paths, "n", "only_a", "only_b", "wer"|"cer": {"a", "b",
    "delta", "interval", "p"}, "better", "worse": [{"id", "a", "b", "reference",
    "hypothesis_a", "hypothesis_b"}] (by word errors, most changed first)}``. ``delta``
    is B - A; ``p`` comes from a paired bootstrap over utterances."""
    (_, ua), (_, ub) = read_report(a), read_report(b)
    ids = [i for i in ua if i in ub]
    if not ids:
        raise RecognizeError(f"{a} and {b} share no utterance ids: nothing to compare")
    result = {"a": str(a), "b": str(b), "n": len(ids), "only_a": len(ua) - len(ids), "only_b": len(ub) - len(ids)}
    for rate, unit in (("wer", "words"), ("cer", "chars")):
        errors_a, lengths = edit_totals([ua[i] for i in ids], unit)
        errors_b, lengths_b = edit_totals([ub[i] for i in ids], unit)
        if lengths != lengths_b:
            raise RecognizeError(f"{a} and {b} scored different references for the same ids "
                                 "(another manifest, or another text normalization)")
        total = max(sum(lengths), 1)
        result[rate] = {"a": sum(errors_a) / total, "b": sum(errors_b) / total,
                        **paired_bootstrap(errors_a, errors_b, lengths, samples)}
    changes = []
    for i in ids:
        ea, eb = Counts(**ua[i]["words"]).errors, Counts(**ub[i]["words"]).errors
        if ea != eb:
            changes.append({"id": i, "a": ea, "b": eb, "reference": ua[i]["reference"],
                            "hypothesis_a": ua[i]["hypothesis"], "hypothesis_b": ub[i]["hypothesis"]})
    result["better"] = sorted((c for c in changes if c["b"] < c["a"]), key=lambda c: (c["b"] - c["a"], c["id"]))
    result["worse"] = sorted((c for c in changes if c["b"] > c["a"]), key=lambda c: (c["a"] - c["b"], c["id"]))
    return result


def format_comparison(result: dict, show: int = 10) -> str:
    lines = [f"A: {result['a']}", f"B: {result['b']}",
             f"{result['n']} utterances in both" + (f" ({result['only_a']} only in A, {result['only_b']} only in B)"
                                                    if result["only_a"] or result["only_b"] else ""),
             f"{'':4} {'A':>8} {'B':>8} {'B - A':>8}   95 % interval of B - A   p (paired bootstrap)"]
    for rate in ("wer", "cer"):
        r = result[rate]
        low, high = r["interval"]
        lines.append(f"{rate.upper():4} {100 * r['a']:7.2f}% {100 * r['b']:7.2f}% {100 * r['delta']:+7.2f}%   "
                     f"[{100 * low:+.2f}, {100 * high:+.2f}] %{'':9} {r['p']:.4f}")
    for name in ("better", "worse"):
        changed = result[name]
        shown = f" (the {show} that changed most; --json lists all)" if len(changed) > show else ""
        lines.append(f"{len(changed)} utterances {name} in B" + (f"{shown}:" if changed else ""))
        for c in changed[:show]:
            lines.append(f"  {c['id']}: {c['a']} -> {c['b']} word errors | ref: {c['reference']} | "
                         f"A: {c['hypothesis_a']} | B: {c['hypothesis_b']}")
    return "\n".join(lines)
