"""report.html: one self-contained page (inline CSS and images, no network) with the
summary, confusions, breakdowns as plots, and the worst utterances: their alignment
coloured by operation, and for the worst few a picture of what the model saw (a
spectrogram with word boundaries, or the line image with the characters read at their
positions)."""

from __future__ import annotations

import base64
import io
from html import escape

from .metrics import Counts

WORST, PICTURES = 25, 5  # utterances listed, and given a picture
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f6f6f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #666; } .grid { display: flex; flex-wrap: wrap; gap: 2em; }
.align { font-family: ui-monospace, monospace; line-height: 2; }
.align span { padding: 1px 3px; margin-right: 3px; border-radius: 3px; }
.S { background: #fdd9b5; } .D { background: #f8b4b4; text-decoration: line-through; } .I { background: #b9e3c6; }
.utt { margin: 1em 0 1.6em; } .utt .id { font-weight: 600; }
.line { position: relative; margin-top: 4px; } .line img { display: block; border: 1px solid #ddd; }
.chars { position: relative; height: 1.6em; font-family: ui-monospace, monospace; }
.chars span { position: absolute; top: 0; text-align: center; border-left: 1px solid #ccc; }
"""


def _img(png: bytes, alt: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return f'<img alt="{escape(alt)}"{size} src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def summary_table(summary: dict) -> str:
    """Snt / Ref / Corr / Sub / Del / Ins / Err / rate (95 % interval) for words and characters;
    each figure carries ``data-key``, the summary.json field it shows."""
    c = summary["chars"]
    words = Counts(summary["substitutions"], summary["deletions"], summary["insertions"],
                   summary["reference_words"] - summary["substitutions"] - summary["deletions"])
    chars = Counts(c["substitutions"], c["deletions"], c["insertions"], c["hits"])
    rows = []
    for name, counts, prefix, rate, key in (("words", words, "", summary["wer"], "wer"),
                                            ("characters", chars, "chars.", summary["cer"], "cer")):
        low, high = summary["ci95"][key]
        ref_key = "reference_words" if not prefix else "chars.reference_chars"
        rows.append(
            f"<tr><th>{name}</th><td class=n data-key=n>{summary['n']}</td>"
            f"<td class=n data-key={ref_key}>{counts.reference_length}</td><td class=n>{counts.hits}</td>"
            + "".join(f"<td class=n data-key={prefix}{k}>{getattr(counts, k)}</td>"
                      for k in ("substitutions", "deletions", "insertions"))
            + f"<td class=n>{counts.errors}</td><td class=n data-key={key}><b>{_pct(rate)}</b></td>"
            f"<td class=n data-key=ci95.{key}>{_pct(low)} – {_pct(high)}</td></tr>")
    head = "<tr><th></th><th>Snt</th><th>Ref</th><th>Corr</th><th>Sub</th><th>Del</th><th>Ins</th><th>Err</th>" \
           "<th>rate</th><th>95 % interval</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def confusion_tables(confusions: dict) -> str:
    parts = []
    for unit, title in (("words", "Words"), ("chars", "Characters")):
        c = confusions[unit]
        show = (lambda s: escape(s) if s != " " else "␣")
        tables = [
            ("substituted (reference → recognized)",
             [(f"{show(r)} → {show(h)}", n) for r, h, n in c["substitutions"]]),
            ("deleted", [(show(r), n) for r, n in c["deletions"]]),
            ("inserted", [(show(h), n) for h, n in c["insertions"]]),
        ]
        cells = "".join(
            f"<div><table><tr><th>{name}</th><th>n</th></tr>"
            + "".join(f"<tr><td>{label}</td><td class=n>{n}</td></tr>" for label, n in rows[:12])
            + ("<tr><td colspan=2 class=meta>none</td></tr>" if not rows else "") + "</table></div>"
            for name, rows in tables)
        parts.append(f"<h3>{title}</h3><div class=grid>{cells}</div>")
    return "".join(parts)


def breakdown_sections(breakdowns: dict) -> str:
    from .plots import group_bars

    parts = []
    for field, groups in breakdowns.items():
        title = "by reference length" if field == "length" else f"by {field}"
        table = "<table><tr><th>group</th><th>n</th><th>WER</th><th>CER</th></tr>" + "".join(
            f"<tr><td>{escape(str(g['group']))}</td><td class=n>{g['n']}</td><td class=n>{_pct(g['wer'])}</td>"
            f"<td class=n>{_pct(g['cer'])}</td></tr>" for g in groups) + "</table>"
        parts.append(f"<h3>{escape(title)}</h3><div class=grid><div>{_img(group_bars(groups, title), title)}</div>"
                     f"<div>{table}</div></div>")
    return "".join(parts)


def alignment_html(ops, unit: str) -> str:
    sep = " " if unit == "words" else ""
    spans = []
    for op, r, h in ops:
        r, h = escape(r if r != " " else "␣"), escape(h if h != " " else "␣")
        if op == "=":
            spans.append(f"<span>{r}</span>")
        elif op == "S":
            spans.append(f'<span class=S title="{r} → {h}">{h}</span>')
        elif op == "D":
            spans.append(f'<span class=D title="deleted">{r}</span>')
        else:
            spans.append(f'<span class=I title="inserted">{h}</span>')
    return f"<div class=align>{sep.join(spans)}</div>"


def picture(recognizer, u: dict) -> str:
    """What the model saw for one utterance, with what it recognized placed on it."""
    from ..errors import RecognizeError

    if "box" in u:  # a line of a page: its box cut from the page
        return page_line(u)
    if recognizer.is_long(u["path"]):  # never load an hour of audio whole for a picture
        return ""
    try:
        features, _, unit = recognizer.features(u["path"])
    except RecognizeError:
        return ""
    (hyp,) = recognizer.decode_features([features], [unit])
    if recognizer.kind.unit == "seconds":
        from .plots import spectrogram

        png = spectrogram(features, recognizer.cfg.features.hop_ms / 1000, hyp.words, u["id"])
        return f"<div>{_img(png, 'spectrogram of ' + u['id'])}</div>"
    from PIL import Image

    from ..decoding.formats import characters
    from ..inputs.image import open_image

    with open_image(u["path"]) as image:
        line = image.convert("RGB")
    scale = min(1.0, 1000 / line.width)
    shown = line.resize((max(1, round(line.width * scale)), max(1, round(line.height * scale))), Image.LANCZOS)
    out = io.BytesIO()
    shown.save(out, format="PNG")
    marks = "".join(
        f'<span style="left:{c["x0"] * scale:.0f}px;width:{max(c["x1"] - c["x0"], 1) * scale:.0f}px;'
        f'opacity:{0.35 + 0.65 * c["confidence"]:.2f}" title="confidence {c["confidence"]:.2f}">'
        f'{escape(c["char"]) if c["char"] != " " else "&nbsp;"}</span>'
        for c in characters(hyp, recognizer.alphabet))
    return (f'<div class=line style="width:{shown.width}px">{_img(out.getvalue(), "line " + u["id"], shown.width)}'
            f"<div class=chars>{marks}</div></div>")


def page_line(u: dict) -> str:
    """The box of a page's reference line, cut from the page image."""
    from ..errors import RecognizeError
    from ..inputs.image import open_image

    try:
        with open_image(u["path"]) as image:
            line = image.convert("RGB").crop(tuple(u["box"]))
    except RecognizeError:
        return ""
    line.thumbnail((1000, 200))
    out = io.BytesIO()
    line.save(out, format="PNG")
    return f"<div>{_img(out.getvalue(), 'line ' + u['id'], line.width)}</div>"


def page_pictures(pages: list[dict], show: int = 5) -> str:
    """The worst ``show`` pages with their reference lines (green) and the lines found (red)."""
    from PIL import ImageDraw

    from ..errors import RecognizeError
    from ..inputs.image import open_image

    parts = []
    for page in pages[:show]:
        try:
            with open_image(page["image"]) as image:
                shown = image.convert("RGB")
        except RecognizeError:
            continue
        draw = ImageDraw.Draw(shown)
        width = max(2, round(shown.width / 500))
        for polygon, colour in [(p, (0, 150, 0)) for p in page["reference"]] + [(p, (220, 0, 0)) for p in page["found"]]:
            if len(polygon) >= 3:
                draw.polygon([tuple(point) for point in polygon], outline=colour, width=width)
        shown.thumbnail((800, 1100))
        out = io.BytesIO()
        shown.save(out, format="PNG")
        parts.append(f"<div class=utt><span class=id>{escape(page['id'])}</span> <span class=meta>CER "
                     f"{_pct(page['cer'])}, {len(page['found'])} lines found, {len(page['reference'])} in the "
                     f"reference</span><div>{_img(out.getvalue(), 'page ' + page['id'], shown.width)}</div></div>")
    return "".join(parts)


def worst_section(utterances: list[dict], recognizer) -> str:
    parts = []
    extent = "duration" if utterances and "duration" in utterances[0] else "width"
    unit = "s" if extent == "duration" else "px"
    for i, u in enumerate(utterances[:WORST]):
        pic = picture(recognizer, u) if recognizer is not None and i < PICTURES else ""
        conf = f", confidence {u['confidence']:.2f}" if u.get("confidence") is not None else ""
        parts.append(
            f"<div class=utt><span class=id>{escape(u['id'])}</span> <span class=meta>WER {_pct(u['wer'])}, "
            f"CER {_pct(u['cer'])}, {u[extent]:g} {unit}{conf}</span>"
            f"<div class=meta>reference: {escape(u['reference'])}</div>"
            f"{alignment_html(u['alignment']['words'], 'words')}"
            f"{alignment_html(u['alignment']['chars'], 'chars')}{pic}</div>")
    return "".join(parts)


def render_html(summary: dict, utterances: list[dict], confusions: dict, breakdowns: dict, failures=(),
                recognizer=None, pages=()) -> str:
    """The whole page as a string."""
    meta = [("manifest", summary["manifest"]), ("model", summary.get("model", "")),
            ("decoder", summary.get("decoder", "")), ("text normalization", summary["normalization"]),
            ("date", summary.get("date", "")), ("recognize", summary.get("version", ""))]
    speed = (f"{summary['audio_seconds']:.1f} s of audio, {summary['rtfx']}× real time" if "rtfx" in summary
             else f"{summary['lines_per_second']} lines/s")
    failed = "".join(f"<li>{escape(i)}: {escape(r)}</li>" for i, r in failures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>recognize evaluation: {escape(summary['manifest'])}</title>
<style>{CSS}</style></head><body>
<h1>WER <span data-key=wer>{_pct(summary['wer'])}</span> · CER <span data-key=cer>{_pct(summary['cer'])}</span></h1>
<div class=meta>{' · '.join(f'{k}: {escape(str(v))}' for k, v in meta)}<br>{summary['n']} scored, {speed}</div>
<h2>Summary</h2>{summary_table(summary)}
<p class=meta>Corpus-level rates: total edits over total reference words (characters, spaces included).
The interval is a bootstrap over utterances (1000 resamples).</p>
{f'<h2>Files that could not be read</h2><ul>{failed}</ul>' if failed else ''}
<h2>Most frequent confusions</h2>{confusion_tables(confusions)}
<h2>Breakdowns</h2>{breakdown_sections(breakdowns)}
{pages_section(summary, pages)}
<h2>Worst utterances</h2>
<p class=meta>Words and characters as recognized: <span class="align"><span class=S>substituted</span>
<span class=D>deleted</span> <span class=I>inserted</span></span> (hover for the reference).</p>
{worst_section(utterances, recognizer)}
</body></html>
"""


def pages_section(summary: dict, pages) -> str:
    """Line detection and the worst pages drawn, for a page evaluation; nothing otherwise."""
    if not pages:
        return ""
    d = summary["detection"]
    return (f"<h2>Pages</h2><p class=meta>{d['found']} lines found, {d['reference']} in the reference, "
            f"{d['detected']} of them found (box IoU at least 0.5): precision <b data-key=detection.precision>"
            f"{_pct(d['precision'])}</b>, recall <b data-key=detection.recall>{_pct(d['recall'])}</b>. The worst "
            f"pages, reference lines in green, lines found in red:</p>{page_pictures(pages)}")
