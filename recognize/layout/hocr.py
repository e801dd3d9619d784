"""A read :class:`~.page.Page` as hOCR 1.2, the HTML that Tesseract and kraken write and
hocr-tools, OCRmyPDF and search indexers read: ``ocr_page`` > ``ocr_carea`` > ``ocr_par``
> ``ocr_line`` > ``ocrx_word``, each with its ``bbox`` in the image's pixels."""

from __future__ import annotations

from html import escape
from pathlib import Path

from .page import Page, TextLine


def _bbox(box) -> str:
    return "bbox " + " ".join(str(int(v)) for v in box)


def _baseline(line: TextLine) -> str:
    """hOCR's ``baseline slope offset``: the baseline's line, from the bottom-left corner
    of the line's box; empty when the line has no baseline."""
    if len(line.baseline) < 2 or line.baseline[-1][0] == line.baseline[0][0]:
        return ""
    (ax, ay), (bx, by) = line.baseline[0], line.baseline[-1]
    slope = (by - ay) / (bx - ax)
    x0, _, _, y1 = line.box
    return f"; baseline {slope:.4f} {round(ay + slope * (x0 - ax) - y1)}"


def _line(line: TextLine, number: int) -> str:
    spans = []
    for k, word in enumerate(line.words()):
        confidence = f"; x_wconf {round(100 * word['confidence'])}" if word["confidence"] is not None else ""
        spans.append(f"<span class='ocrx_word' id='word_1_{number}_{k}' title='{_bbox(word['box'])}{confidence}'>"
                     f"{escape(word['text'])}</span>")
    return (f"     <span class='ocr_line' id='line_1_{number}' title='{_bbox(line.box)}{_baseline(line)}'>"
            + " ".join(spans) + "</span>")


def to_hocr(page: Page) -> str:
    """The page as hOCR: one block and paragraph holding its lines in reading order, each
    line its words (:meth:`TextLine.words`) with ``x_wconf``, the lowest posterior of
    their characters in percent."""
    lines = "\n".join(_line(line, number) for number, line in enumerate(page.lines))
    size = f"0 0 {page.width} {page.height}"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>{escape(Path(page.file).name)}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="recognize"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>
 </head>
 <body>
  <div class='ocr_page' id='page_1' title='image {escape(_quoted(Path(page.file).name))}; bbox {size}; ppageno 0'>
   <div class='ocr_carea' id='block_1_1' title='bbox {size}'>
    <p class='ocr_par' id='par_1_1' title='bbox {size}'>
{lines}
    </p>
   </div>
  </div>
 </body>
</html>
"""


def _quoted(name: str) -> str:
    """A file name as an hOCR property string: in double quotes, its quotes and
    backslashes escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
