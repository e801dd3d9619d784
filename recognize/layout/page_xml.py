"""Page XML in and out: the text lines of an ALTO (any version) or PAGE XML file, their
crops from the page image, and a read :class:`~.page.Page` written back as ALTO v4 or
PAGE 2019 (what kraken, eScriptorium and Transkribus import)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image, ImageDraw

from ..errors import RecognizeError
from ..inputs.image import open_image, to_gray
from ..inputs.text import normalize_text
from .page import Page, TextLine


def _local(tag: str) -> str:
    """An element's name without its namespace (any ALTO or PAGE version)."""
    return tag.rsplit("}", 1)[-1]


def _first(element, name: str):
    return next((e for e in element.iter() if _local(e.tag) == name), None)


def _children(element, name: str) -> list:
    return [e for e in element if _local(e.tag) == name]


def _points(text: str | None) -> list[tuple[float, float]]:
    """``"x1 y1 x2 y2 ..."`` or ``"x1,y1 x2,y2 ..."`` -> [(x, y), ...]."""
    numbers = [float(v) for v in (text or "").replace(",", " ").split()]
    return list(zip(numbers[0::2], numbers[1::2]))


def _alto_lines(root) -> tuple[str | None, tuple, list[TextLine]]:
    """ALTO: (image file name, declared page size, lines)."""
    name = _first(root, "fileName")
    page = _first(root, "Page")
    size = (page.get("WIDTH"), page.get("HEIGHT")) if page is not None else (None, None)
    lines = []
    for number, line in enumerate(e for e in root.iter() if _local(e.tag) == "TextLine"):
        shape = _children(line, "Shape")
        polygon = _children(shape[0], "Polygon") if shape else []
        x, y, w, h = (float(line.get(k, 0)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
        if polygon:
            points = _points(polygon[0].get("POINTS"))
        else:
            points = [(x, y), (x + w - 1, y), (x + w - 1, y + h - 1), (x, y + h - 1)] if w and h else []
        baseline = _points(line.get("BASELINE")) if " " in (line.get("BASELINE") or "").strip() else []
        if not baseline and line.get("BASELINE") and w:  # ALTO 2 and 3: one y for the whole line
            baseline = [(x, float(line.get("BASELINE"))), (x + w - 1, float(line.get("BASELINE")))]
        strings = [s.get("CONTENT", "") for s in _children(line, "String")]
        text = " ".join(strings) if strings else line.get("CONTENT", "")
        lines.append(TextLine(points, baseline, text, line.get("ID") or f"line_{number}"))
    return (name.text.strip() if name is not None and name.text else None), size, lines


def _page_lines(root) -> tuple[str | None, tuple, list[TextLine]]:
    """PAGE XML: (image file name, declared page size, lines)."""
    page = _first(root, "Page")
    if page is None:
        return None, (None, None), []
    lines = []
    for number, line in enumerate(e for e in root.iter() if _local(e.tag) == "TextLine"):
        coords, baseline = _children(line, "Coords"), _children(line, "Baseline")
        equiv = _children(line, "TextEquiv")
        unicode = _children(equiv[0], "Unicode") if equiv else []
        text = (unicode[0].text or "") if unicode else ""
        lines.append(TextLine(_points(coords[0].get("points") if coords else ""),
                              _points(baseline[0].get("points")) if baseline else [], text,
                              line.get("id") or f"line_{number}"))
    return page.get("imageFilename"), (page.get("imageWidth"), page.get("imageHeight")), lines


def read_page_xml(xml_path: str | Path, image_size: tuple[int, int] | None = None) -> tuple[Page, str | None]:
    """An ALTO or PAGE XML file -> (its :class:`Page`, the image file name it gives or None).

    With ``image_size`` ``(width, height)``, coordinates are scaled from the page size the
    XML declares to it. Lines keep their polygon (ALTO ``Shape/Polygon``, else HPOS/VPOS/
    WIDTH/HEIGHT; PAGE ``Coords``), baseline and NFC-normalized text. Raises
    :class:`RecognizeError` (one line naming the file) for unreadable or foreign XML.
    """
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
        kind = _local(root.tag)
        if kind not in ("alto", "PcGts"):
            raise RecognizeError(f"{xml_path}: neither ALTO nor PAGE XML (root element <{kind}>)")
        name, size, lines = (_alto_lines if kind == "alto" else _page_lines)(root)
        declared = [float(v) for v in size if v]
    except OSError as e:
        raise RecognizeError(f"{xml_path}: cannot read ({e.strerror})") from None
    except ET.ParseError as e:
        raise RecognizeError(f"{xml_path}: not well-formed XML ({e})") from None
    except ValueError as e:
        raise RecognizeError(f"{xml_path}: bad coordinates ({e})") from None
    for line in lines:
        line.text = normalize_text(line.text)
    width, height = (round(declared[0]), round(declared[1])) if len(declared) == 2 else (0, 0)
    page = Page(str(name or ""), width, height, lines)
    return (page.scaled_to(*image_size) if image_size else page), name


def cut_line(page: Image.Image, polygon) -> Image.Image | None:
    """The bounding box of ``polygon`` cut from the "L" image ``page``, pixels outside
    the polygon white; None for a polygon of fewer than 3 points or none inside the page."""
    if len(polygon) < 3:
        return None
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    right, bottom = min(page.width, math.floor(max(xs)) + 1), min(page.height, math.floor(max(ys)) + 1)
    if right <= left or bottom <= top:
        return None
    crop = page.crop((left, top, right, bottom))
    mask = Image.new("L", crop.size, 0)
    ImageDraw.Draw(mask).polygon([(x - left, y - top) for x, y in polygon], fill=255, outline=255)
    return Image.composite(crop, Image.new("L", crop.size, 255), mask)


def lines_from_page(xml_path: str | Path, image_path: str | Path | None = None) -> list[dict]:
    """Line crops of a page from its ALTO (any version) or PAGE XML.

    Each line is ``{"id": line id, "image": PIL "L" image, "text": normalized NFC text}``:
    the bounding box of the line's polygon with the pixels outside it set to white (see
    :func:`read_page_xml`). Lines without a polygon are skipped. The page image is
    ``image_path``, else the file the XML names, next to the XML. Coordinates are scaled
    when the XML declares a page size other than the image's.
    """
    xml_path = Path(xml_path)
    reference, name = read_page_xml(xml_path)
    if image_path is None:
        if not name:
            raise RecognizeError(f"{xml_path}: names no page image; pass its path")
        image_path = xml_path.parent / name
    page = Image.fromarray(np.round(to_gray(open_image(image_path)) * 255).astype(np.uint8))
    crops = []
    for line in reference.scaled_to(*page.size).lines:
        image = cut_line(page, line.polygon)
        if image is not None:
            crops.append({"id": line.id, "image": image, "text": line.text})
    return crops


def _alto_points(points) -> str:
    return " ".join(f"{round(x)} {round(y)}" for x, y in points)


def _alto_string(word: dict) -> str:
    """One word (:meth:`TextLine.words`) as an ALTO ``String``, its confidence as ``WC``."""
    x0, y0, x1, y1 = word["box"]
    wc = word["confidence"]
    confidence = f' WC="{wc:.4f}"' if wc is not None else ""
    return (f'<String CONTENT={quoteattr(word["text"])} HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" '
            f'HEIGHT="{y1 - y0}"{confidence}/>')


def to_alto(page: Page) -> str:
    """The page as ALTO v4: one TextBlock of TextLines, each with its polygon
    (``Shape/Polygon``), ``BASELINE`` and a ``String`` per word (``SP`` between), placed
    by :meth:`TextLine.words`; a line without characters is one ``String``."""
    lines = []
    for number, line in enumerate(page.lines):
        x0, y0, x1, y1 = line.box
        baseline = f" BASELINE={quoteattr(_alto_points(line.baseline))}" if line.baseline else ""
        words = line.words() or [{"text": "", "box": line.box, "confidence": None}]  # ALTO: a String at least
        strings = "<SP/>".join(_alto_string(word) for word in words)
        line_id = quoteattr(line.id or f"line_{number}")  # a read XML's own ids kept
        lines.append(
            f'        <TextLine ID={line_id} HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}"'
            f'{baseline}>\n'
            f'          <Shape><Polygon POINTS={quoteattr(_alto_points(line.polygon))}/></Shape>\n'
            f'          {strings}\n'
            f'        </TextLine>')
    body = "\n".join(lines)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# http://www.loc.gov/standards/alto/v4/alto-4-2.xsd">
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation><fileName>{_escape(Path(page.file).name)}</fileName></sourceImageInformation>
  </Description>
  <Layout>
    <Page ID="page_0" PHYSICAL_IMG_NR="1" WIDTH="{page.width}" HEIGHT="{page.height}">
      <PrintSpace HPOS="0" VPOS="0" WIDTH="{page.width}" HEIGHT="{page.height}">
      <TextBlock ID="block_0" HPOS="0" VPOS="0" WIDTH="{page.width}" HEIGHT="{page.height}">
{body}
      </TextBlock>
      </PrintSpace>
    </Page>
  </Layout>
</alto>
"""


def _page_points(points) -> str:
    return " ".join(f"{round(x)},{round(y)}" for x, y in points)


def to_page_xml(page: Page) -> str:
    """The page as PAGE XML (2019-07-15): one TextRegion of TextLines, each with its
    ``Coords``, ``Baseline`` and ``TextEquiv``."""
    lines = []
    for number, line in enumerate(page.lines):
        baseline = f'<Baseline points="{_page_points(line.baseline)}"/>' if line.baseline else ""
        confidence = f' conf="{line.confidence:.4f}"' if line.confidence is not None else ""
        line_id = quoteattr(line.id or f"line_{number}")
        lines.append(f'      <TextLine id={line_id}><Coords points="{_page_points(line.polygon)}"/>{baseline}'
                     f'<TextEquiv{confidence}><Unicode>{_escape(line.text)}</Unicode></TextEquiv></TextLine>')
    region = f'0,0 {page.width - 1},0 {page.width - 1},{page.height - 1} 0,{page.height - 1}'
    body = "\n".join(lines)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()  # the schema asks for both times
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
  <Metadata><Creator>recognize</Creator><Created>{now}</Created><LastChange>{now}</LastChange></Metadata>
  <Page imageFilename={quoteattr(Path(page.file).name)} imageWidth="{page.width}" imageHeight="{page.height}">
    <TextRegion id="region_0"><Coords points="{region}"/>
{body}
    </TextRegion>
  </Page>
</PcGts>
"""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
