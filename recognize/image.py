"""Images in, ``(height, W)`` float32 arrays out; page XML (ALTO, PAGE) to line crops.

Convention for every array: background (paper) is 0 and ink goes towards 1, so the
zero padding on the right of a batch is blank paper. Any file and mode Pillow reads
is accepted; the EXIF orientation is applied; light-on-dark images are inverted.
"""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from .errors import ImageError, RecognizeError
from .text import normalize_text

# Images with more pixels are refused from their header, before decoding (a 1-bit PNG
# declaring 20000 x 20000 pixels is 50 kB on disk and 400 MB decoded). A 600-dpi A4
# page scan is 35 megapixels; text lines are far smaller.
MAX_PIXELS = 50_000_000
# Files people give that Pillow cannot open, and what to do instead.
NOT_PILLOW = {
    ".pdf": " (a PDF: render its pages to images first, e.g. pdftoppm -png -r 300, then cut the lines)",
    ".heic": " (HEIC, as phones save photos: convert it to PNG or JPEG first)",
    ".heif": " (HEIF: convert it to PNG or JPEG first)",
}


def open_image(path: str | Path, content: bytes | None = None) -> Image.Image:
    """Decode an image file (first frame) with its EXIF orientation applied; ``content``:
    the file's bytes, already read (``path`` then only names it).

    Raises :class:`ImageError` with one line naming the file: missing, a directory,
    empty, not an image, truncated or corrupt, no pixels, more than ``MAX_PIXELS``.
    """
    import io

    path = Path(path)
    if content is None and not path.exists():
        raise ImageError(f"{path}: no such file")
    if content is None and path.is_dir():
        raise ImageError(f"{path}: is a directory, not an image file")
    if (len(content) if content is not None else path.stat().st_size) == 0:
        raise ImageError(f"{path}: empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content) if content is not None else path) as image:
                width, height = image.size
                if width * height == 0:
                    raise ImageError(f"{path}: image has no pixels ({width}x{height})")
                if width * height > MAX_PIXELS:
                    raise ImageError(f"{path}: {width}x{height} image has too many pixels (limit {MAX_PIXELS:,})")
                image.load()
                return ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{path}: image has too many pixels (limit {MAX_PIXELS:,})") from None
        except UnidentifiedImageError:
            hint = NOT_PILLOW.get(path.suffix.lower(), "")
            raise ImageError(f"{path}: not an image file Pillow can read{hint}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            reason = " ".join(str(e).split()) or type(e).__name__
            raise ImageError(f"{path}: truncated or unreadable image ({reason})") from None


def to_gray(image: Image.Image) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1], 0 black and 1 white, from any Pillow mode.

    Transparency (alpha or a palette's transparent colour) is composited on white;
    16-bit images keep their precision.
    """
    if image.mode.startswith("I"):  # I;16, I;16B, ... and I (16-bit data read as 32-bit)
        gray = np.asarray(image, dtype=np.float32) / 65535
    elif image.mode == "F":  # floats in [0, 1], or in [0, 255] as Pillow's F -> L assumes
        gray = np.asarray(image, dtype=np.float32)
        gray = gray / 255 if gray.max() > 1 else gray
    else:
        if image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
            white = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(white, image.convert("RGBA"))
        if image.mode == "LAB":  # its L band is the lightness; Pillow has no LAB -> RGB
            image = image.getchannel("L")
        elif image.mode not in ("1", "L", "RGB"):  # CMYK, YCbCr, HSV, P, RGBA, ...
            image = image.convert("RGB")
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255
    return np.clip(gray, 0, 1)


def load_image(path: str | Path, height: int, min_width: int = 1, content: bytes | None = None,
               stretch: bool = False) -> np.ndarray:
    """Read a line image as ``(height, W)`` float32 in [0, 1], background 0, ink towards 1.

    The aspect ratio is kept: ``W = max(min_width, max(1, round(width * height / H)))``;
    narrow images are padded on the right with background. Shrinking averages pixel
    areas (box filter), enlarging uses Lanczos. Dark ink on light paper is inverted; an
    image whose border is mostly dark (light ink on a dark ground) is kept as it is.
    ``stretch``: :func:`stretch_contrast` (``image.stretch``).
    Raises :class:`ImageError` (see :func:`open_image`).
    """
    return load_line(path, height, min_width, content, stretch)[0]


def stretch_contrast(ink: np.ndarray) -> np.ndarray:
    """``(H, W)`` ink in [0, 1] -> the same with its background (the median pixel: most of
    a line is paper) at 0 and its strongest ink at 1, so that grey paper, faint ink or a
    dim photo read like a clean scan. A line with less than 0.05 between the two (no ink)
    is left as it is."""
    background, full = np.median(ink), ink.max()
    if full - background < 0.05:
        return ink
    return np.clip((ink - background) / (full - background), 0, 1).astype(np.float32)


def load_line(path: str | Path, height: int, min_width: int = 1, content: bytes | None = None,
              stretch: bool = False) -> tuple[np.ndarray, int]:
    """:func:`load_image` and the image's own width in pixels (after EXIF orientation),
    to map positions in the normalized line back onto the input image."""
    gray = to_gray(open_image(path, content))
    h, w = gray.shape
    width = max(1, round(w * height / h))
    if (h, w) != (height, width):
        method = Image.Resampling.BOX if height < h else Image.Resampling.LANCZOS
        gray = np.clip(np.asarray(Image.fromarray(gray).resize((width, height), method)), 0, 1)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = gray if np.median(border) < 0.5 else 1 - gray
    if stretch:
        ink = stretch_contrast(ink)
    if width < min_width:
        ink = np.pad(ink, ((0, 0), (0, min_width - width)))
    return ink.astype(np.float32), w


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
