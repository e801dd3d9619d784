"""Files that hold several pages: PDF (through the optional pypdfium2, ``pip install
'recognize[pdf]'``) and multi-page TIFF. Each page becomes a :class:`DocumentPage`,
which ``recognize read`` and :func:`recognize.read` read as a page image of its own.

A scanned PDF's page is one image: it is taken at the scan's own pixels (as
``pdfimages`` would extract it); any other page is rendered at :data:`RENDER_DPI`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from ..errors import ImageError
from .files import check_regular

RENDER_DPI = 300  # a page that is not one scanned image (text, drawings) is rendered at this
WHOLE_PAGE = 0.9  # an image covering this share of its page is the page's scan
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class DocumentPage:
    """Page ``index`` (from 0) of ``count`` in the file ``path``."""

    path: str
    index: int
    count: int

    def __str__(self) -> str:  # in messages and output headers, as PDF viewers open a page
        return f"{self.path}#page={self.index + 1}"

    @property
    def stem(self) -> str:
        """The name its outputs take: ``scan_p002`` for the second page of ``scan.pdf``."""
        return f"{Path(self.path).stem}_p{self.index + 1:03d}"

    def size(self) -> tuple[int, int]:
        """(width, height) in the pixels :meth:`open` gives at full size."""
        if self.path.lower().endswith(".pdf"):
            return _pdf_page(self, _pdf_page_size)
        return _tiff_page(self, lambda frame: frame.size)

    def open(self, limit: int, reduce_to: int = 0) -> Image.Image:
        """The page as an image, refused (:class:`ImageError`) above ``limit`` pixels and
        shrunk to at most ``reduce_to`` (0: as it is), as :func:`~.image.open_image` does."""
        width, height = self.size()
        if width * height > limit:
            raise ImageError(f"{self}: {width}x{height} page has too many pixels (limit {limit:,})")
        shrink = math.sqrt(reduce_to / (width * height)) if reduce_to and width * height > reduce_to else 1.0
        if self.path.lower().endswith(".pdf"):
            return _pdf_page(self, lambda page: _pdf_page_image(page, shrink))
        factor = math.ceil(1 / shrink)
        return _tiff_page(self, lambda frame: ImageOps.exif_transpose(frame.reduce(factor) if factor > 1 else frame))


def pages_of(path: str) -> list:
    """A PDF or a TIFF of several pages -> its :func:`document_pages`; any other file -> ``[path]``."""
    return document_pages(path) or [path]


def document_pages(path: str) -> list[DocumentPage] | None:
    """The pages of a PDF or of a TIFF of several pages; None for any other file (an image
    of one page, read as it is). :class:`ImageError` (one line naming the file) for a PDF
    that cannot be read or when pypdfium2 is missing."""
    suffix = Path(path).suffix.lower()
    if suffix == ".pdf":
        check_regular(path, ImageError)
        document = _open_pdf(path)
        count = len(document)
        document.close()
        if not count:
            raise ImageError(f"{path}: a PDF with no pages")
    elif suffix in TIFF_SUFFIXES:
        try:
            with Image.open(path) as image:
                count = getattr(image, "n_frames", 1)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return None  # the image reader reports it in its own words
        if count < 2:
            return None
    else:
        return None
    return [DocumentPage(str(path), i, count) for i in range(count)]


def _open_pdf(path: str):
    """A pypdfium2 document; one-line errors naming the file."""
    try:
        import pypdfium2
    except ImportError:
        raise ImageError(f"{path}: reading PDF files needs pypdfium2 (pip install 'recognize[pdf]')") from None
    try:
        return pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as e:
        raise ImageError(f"{path}: not a PDF that can be read ({e})") from None


def _pdf_page(page: DocumentPage, use):
    """``use(the pypdfium2 page)``, the document closed after; one-line errors naming the page."""
    import pypdfium2

    document = _open_pdf(page.path)
    try:
        return use(document[page.index])
    except pypdfium2.PdfiumError as e:
        raise ImageError(f"{page}: a page that cannot be rendered ({e})") from None
    finally:
        document.close()


def _scan_of(page):
    """The page's one image when it covers the page (a scanned page), else None."""
    import pypdfium2

    images = list(page.get_objects(filter=(pypdfium2.raw.FPDF_PAGEOBJ_IMAGE,), max_depth=1))
    if len(images) != 1 or page.get_rotation():
        return None
    left, bottom, right, top = images[0].get_bounds()
    width, height = page.get_size()
    return images[0] if (right - left) * (top - bottom) >= WHOLE_PAGE * width * height else None


def _pdf_page_size(page) -> tuple[int, int]:
    scan = _scan_of(page)
    if scan is not None:
        return tuple(scan.get_px_size())
    width, height = page.get_size()  # points, 1/72 inch
    return round(width * RENDER_DPI / 72), round(height * RENDER_DPI / 72)


def _pdf_page_image(page, shrink: float) -> Image.Image:
    """The page at its :func:`_pdf_page_size` times ``shrink`` (at most 1), copied out of
    pdfium's buffer (which closes with the document)."""
    scan = _scan_of(page)
    if scan is not None and shrink == 1:
        return scan.get_bitmap(render=True).to_pil().copy()  # the scan's own pixels
    width, height = _pdf_page_size(page)
    target = (round(width * shrink), round(height * shrink))
    image = page.render(scale=target[0] / page.get_size()[0], grayscale=True).to_pil()
    return image.resize(target) if image.size != target else image.copy()  # pdfium may round up a pixel


def _tiff_page(page: DocumentPage, use):
    """``use(frame page.index of the TIFF, loaded)``; one-line errors naming the page."""
    try:
        with Image.open(page.path) as image:
            image.seek(page.index)
            image.load()
            return use(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
        raise ImageError(f"{page}: truncated or unreadable page ({' '.join(str(e).split())})") from None
