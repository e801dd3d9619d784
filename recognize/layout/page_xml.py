"""Page XML in: the text lines of an ALTO (any version) or PAGE XML file, and their crops
from the page image."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import RecognizeError
from ..inputs.image import open_image, to_gray
from ..inputs.text import normalize_text


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


def _alto_lines(root) -> tuple[str | None, tuple, list]:
    """ALTO: (image file name, declared page size, [(id, polygon, text), ...])."""
    name = _first(root, "fileName")
    page = _first(root, "Page")
    size = (page.get("WIDTH"), page.get("HEIGHT")) if page is not None else (None, None)
    lines = []
    for number, line in enumerate(e for e in root.iter() if _local(e.tag) == "TextLine"):
        shape = _children(line, "Shape")
        polygon = _children(shape[0], "Polygon") if shape else []
        if polygon:
            points = _points(polygon[0].get("POINTS"))
        else:
            x, y, w, h = (float(line.get(k, 0)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
            points = [(x, y), (x + w - 1, y), (x + w - 1, y + h - 1), (x, y + h - 1)] if w and h else []
        strings = [s.get("CONTENT", "") for s in _children(line, "String")]
        text = " ".join(strings) if strings else line.get("CONTENT", "")
        lines.append((line.get("ID") or f"line_{number}", points, text))
    return (name.text.strip() if name is not None and name.text else None), size, lines


def _page_lines(root) -> tuple[str | None, tuple, list]:
    """PAGE XML: (image file name, declared page size, [(id, polygon, text), ...])."""
    page = _first(root, "Page")
    if page is None:
        return None, (None, None), []
    lines = []
    for number, line in enumerate(e for e in root.iter() if _local(e.tag) == "TextLine"):
        coords = _children(line, "Coords")
        equiv = _children(line, "TextEquiv")
        unicode = _children(equiv[0], "Unicode") if equiv else []
        text = (unicode[0].text or "") if unicode else ""
        lines.append((line.get("id") or f"line_{number}", _points(coords[0].get("points") if coords else ""), text))
    return page.get("imageFilename"), (page.get("imageWidth"), page.get("imageHeight")), lines


def lines_from_page(xml_path: str | Path, image_path: str | Path | None = None) -> list[dict]:
    """Line crops of a page from its ALTO (any version) or PAGE XML.

    Each line is ``{"id": line id, "image": PIL "L" image, "text": normalized NFC text}``:
    the bounding box of the line's polygon (ALTO ``Shape/Polygon``, else its HPOS/VPOS/
    WIDTH/HEIGHT; PAGE ``Coords``) with the pixels outside the polygon set to white.
    Lines without a polygon are skipped. The page image is ``image_path``, else the
    file the XML names, next to the XML. Coordinates are scaled when the XML declares
    a page size other than the image's.
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
    if image_path is None:
        if not name:
            raise RecognizeError(f"{xml_path}: names no page image; pass its path")
        image_path = xml_path.parent / name
    page = Image.fromarray(np.round(to_gray(open_image(image_path)) * 255).astype(np.uint8))
    sx, sy = (page.width / declared[0], page.height / declared[1]) if len(declared) == 2 else (1.0, 1.0)
    crops = []
    for line_id, points, text in lines:
        points = [(x * sx, y * sy) for x, y in points]
        if len(points) < 3:
            continue
        xs, ys = [x for x, _ in points], [y for _, y in points]
        left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
        right, bottom = min(page.width, math.floor(max(xs)) + 1), min(page.height, math.floor(max(ys)) + 1)
        if right <= left or bottom <= top:
            continue
        crop = page.crop((left, top, right, bottom))
        mask = Image.new("L", crop.size, 0)
        ImageDraw.Draw(mask).polygon([(x - left, y - top) for x, y in points], fill=255, outline=255)
        white = Image.new("L", crop.size, 255)
        crops.append({"id": line_id, "image": Image.composite(crop, white, mask), "text": normalize_text(text)})
    return crops
