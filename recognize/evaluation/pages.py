"""Scoring a read page against its reference lines (ALTO or PAGE XML).

Lines are matched by position: each found line goes to the reference line its box
overlaps most; found lines that overlap no reference line do not count (a form's
printed notice that the reference leaves out); reference lines nothing was found for
are read as empty (all their characters deleted). The found lines of one reference line
are joined in reading order, so a line found in two pieces still reads whole, and the
text of two merged reference lines goes to one of them and is missing from the other.

Detection: a reference line is found when one of the lines that go to it covers it with
a box IoU of at least ``DETECTED_IOU``; precision counts each reference line once.
"""

from __future__ import annotations

from ..layout.page import Page
from .metrics import Counts, align, counts_of

DETECTED_IOU = 0.5


def overlap(a: tuple, b: tuple) -> tuple[float, float]:
    """(intersection area, IoU) of two boxes ``(x0, y0, x1, y1)``."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter, inter / union if union > 0 else 0.0


def match_lines(found: Page, reference: Page) -> list[int | None]:
    """For each found line, the index of the reference line its box overlaps most (None
    when it overlaps none)."""
    matches = []
    for line in found.lines:
        areas = [overlap(line.box, ref.box)[0] for ref in reference.lines]
        best = max(range(len(areas)), key=areas.__getitem__) if areas else None
        matches.append(best if best is not None and areas[best] > 0 else None)
    return matches


def score_page(found: Page, reference: Page, scoring=str) -> dict:
    """``{"lines": [...], "words": Counts, "chars": Counts, "detection": {...}}`` of a read
    page against its reference. Each reference line gives ``{"id", "reference",
    "hypothesis", "words", "chars", "alignment"}``; ``detection`` has ``found``,
    ``reference``, ``detected`` (reference lines found), ``precision`` and ``recall``."""
    matches = match_lines(found, reference)
    texts: dict[int, list[str]] = {}
    detected = set()
    for line, j in zip(found.lines, matches):
        if j is None:
            continue
        texts.setdefault(j, []).append(line.text)
        if overlap(line.box, reference.lines[j].box)[1] >= DETECTED_IOU:
            detected.add(j)
    lines, words, chars = [], Counts(), Counts()
    for j, ref in enumerate(reference.lines):
        truth, hypothesis = scoring(ref.text), scoring(" ".join(texts.get(j, [])))
        word_ops, char_ops = align(truth, hypothesis, "word"), align(truth, hypothesis, "char")
        w, c = counts_of(word_ops), counts_of(char_ops)
        words, chars = words + w, chars + c
        lines.append({"id": ref.id, "reference": truth, "hypothesis": hypothesis, "words": w, "chars": c,
                      "alignment": {"words": word_ops, "chars": char_ops}, "box": list(ref.box)})
    counts = {"found": len(found.lines), "reference": len(reference.lines), "detected": len(detected)}
    return {"lines": lines, "words": words, "chars": chars, "detection": with_rates(counts)}


def with_rates(counts: dict) -> dict:
    """Detection ``counts`` (``found``, ``reference``, ``detected``) with their ``precision``
    and ``recall`` (1 where there is nothing to count)."""
    return {**counts, "precision": counts["detected"] / counts["found"] if counts["found"] else 1.0,
            "recall": counts["detected"] / counts["reference"] if counts["reference"] else 1.0}


def reference_page(xml, size: tuple[int, int]) -> Page:
    """The reference lines of ``xml`` in the pixels of an image of ``size``; a
    :class:`~recognize.errors.RecognizeError` when the page the XML declares has another
    shape than the image (a 2 % difference in aspect ratio: another page, or a crop)."""
    from ..errors import RecognizeError
    from ..layout.page_xml import read_page_xml

    page = read_page_xml(xml)[0]
    if page.width and page.height:
        ratio = (page.width / page.height) / (size[0] / size[1])
        if abs(ratio - 1) > 0.02:
            raise RecognizeError(f"{xml}: its page is {page.width}x{page.height}, the image "
                                 f"{size[0]}x{size[1]}: not the same shape (another page, or a cropped scan?)")
    return page.scaled_to(*size)


def evaluate_pages(recognizer, rows: list[dict], scoring=str, progress=None, batch_size: int = 16) -> dict:
    """Read the page of each row (``{"id", "image": PAGE, "alto" | "page": XML}``) and score
    it against the XML's lines. Returns ``{"summary", "utterances", "failures"}`` as
    :func:`~recognize.evaluation.evaluate.evaluate_manifest` does, one utterance per
    reference line (id ``PAGE/LINE``), and the summary's ``detection``: found and
    reference lines, precision and recall (see :func:`score_page`); ``pages``, worst CER
    first, has each page's ``id``, ``image``, ``cer`` and its ``found`` and ``reference``
    line polygons, for the report to draw."""
    import time
    from dataclasses import asdict

    from ..errors import RecognizeError
    from ..inputs.image import header_size
    from ..inputs.manifest import PAGE_XML
    from ..runtime.pages import read_page
    from .evaluate import scores

    utterances, failures, drawn = [], [], []
    detection = {"found": 0, "reference": 0, "detected": 0}
    started = time.perf_counter()
    for row in rows:
        try:
            xml = row[next(key for key in PAGE_XML if key in row)]
            reference = reference_page(xml, header_size(row["image"]))
            found = read_page(recognizer, row["image"], batch_size)
        except RecognizeError as e:
            failures.append((row["id"], str(e)))
            continue
        finally:
            if progress:
                progress(1)
        scored = score_page(found, reference, scoring)
        drawn.append({"id": row["id"], "image": row["image"], "cer": scored["chars"].rate,
                      "found": [line.polygon for line in found.lines],
                      "reference": [line.polygon for line in reference.lines]})
        for key in detection:
            detection[key] += scored["detection"][key]
        for line in scored["lines"]:
            w, c = line["words"], line["chars"]
            utterances.append({
                "id": f"{row['id']}/{line['id']}", "reference": line["reference"], "hypothesis": line["hypothesis"],
                "width": line["box"][2] - line["box"][0], "confidence": None, "wer": round(w.rate, 4),
                "cer": round(c.rate, 4), "words": asdict(w), "chars": asdict(c), "alignment": line["alignment"],
                "fields": {"page": row["id"]}, "path": row["image"], "box": line["box"]})
    wall = time.perf_counter() - started
    pages = len(rows) - len(failures)
    summary = {"n": len(utterances), "pages": pages, "failed": len(failures), **scores(utterances),
               "detection": with_rates(detection), "wall_seconds": round(wall, 3),
               "pages_per_second": round(pages / wall, 3) if wall > 0 else None,
               "lines_per_second": round(detection["found"] / wall, 2) if wall > 0 else None}
    utterances.sort(key=lambda u: (-u["wer"], -u["cer"], u["id"]))  # worst first
    drawn.sort(key=lambda page: -page["cer"])
    return {"summary": summary, "utterances": utterances, "failures": failures, "pages": drawn}
