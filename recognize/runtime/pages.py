"""Whole pages through a line model: the page's lighting evened out
(:mod:`recognize.layout.background`), a page askew turned straight
(:mod:`recognize.layout.skew`), its lines found (:mod:`recognize.layout.finder`),
each cut along its polygon, height-normalized as the model's line images are, read in
batches of similar widths, and put back in reading order with page coordinates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ..decoding.formats import characters
from ..errors import ImageError
from ..inputs.documents import DocumentPage
from ..inputs.image import header_size, normalize_line, open_image, to_gray, warn_if_small
from ..inputs.level import straighten
from ..kinds import HANDWRITING
from ..layout.background import even_out
from ..layout.finder import find_lines
from ..layout.page import Page, is_page_xml
from ..layout.page_xml import cut_line, read_page_xml
from ..layout.skew import TURN_FROM, skew_of, turn_level

MIN_PAGE_SIDE = 32  # pixels: an image smaller than this holds no page of lines
MAX_PAGE_PIXELS = 200_000_000  # a page scan may be this large (an A2 sheet at 600 dpi is 140 million) ...
READ_PIXELS = 20_000_000  # ... and is read shrunk to at most this (an A3 page at 300 dpi is 17 million)


def read_page(recognizer, path: str | Path | DocumentPage, batch_size: int = 16) -> Page:
    """One page image (a file, or a page of a PDF or TIFF) -> its
    :class:`~recognize.layout.page.Page`, each line with its text, confidence (mean
    posterior of its characters) and characters (x-ranges in the page); an ALTO or PAGE
    XML file -> its page read along the lines it gives (:func:`read_segmented_page`).
    Raises :class:`~recognize.errors.ImageError` (one line naming the file) for an
    unreadable image or one too small to hold a line."""
    if is_page_xml(path):
        return read_segmented_page(recognizer, path, batch_size)
    (width, height), image = page_image(path)
    page, level, back = found_lines(path, image)
    if page.lines:
        typical = float(np.median([line.box[3] - line.box[1] for line in page.lines]))
        warn_if_small(path, "its lines are about", typical, recognizer.cfg.image.height)
    read_lines(recognizer, page, level, batch_size)
    return in_scan_pixels(page, back, image, width, height)


def segment_page(path: str | Path | DocumentPage) -> Page:
    """One page image -> its :class:`~recognize.layout.page.Page` of found lines (polygons
    and baselines in the scan's pixels, in reading order, no text), as :func:`read_page`
    finds them: for correcting in an editor (eScriptorium) before reading the lines given
    (:func:`read_segmented_page`). Raises :class:`~recognize.errors.ImageError` as
    :func:`read_page` does."""
    (width, height), image = page_image(path)
    page, _, back = found_lines(path, image)
    return in_scan_pixels(page, back, image, width, height)


def found_lines(path, image: Image.Image) -> tuple[Page, np.ndarray, Callable | None]:
    """The lines of a page ``image``: ``(page, level, back)``, the page's lines found on
    ``level``, the ``(H, W)`` gray page with its lighting evened out and turned straight
    when askew, and ``back`` the turn that takes them back to ``image`` (None if none)."""
    gray = even_out(to_gray(image))  # a photo's or a shadowed scan's paper made evenly white
    skew = skew_of(gray)
    level, back = turn_level(gray, skew) if abs(skew) >= TURN_FROM else (gray, None)  # a page askew, straight
    return Page(str(path), level.shape[1], level.shape[0], find_lines(level)), level, back


def in_scan_pixels(page: Page, back: Callable | None, image: Image.Image, width: int, height: int) -> Page:
    """``page`` found on a turned or shrunk copy of a scan taken back to the scan's
    ``width`` x ``height`` pixels (``back``: the turn, as :func:`found_lines` gives it)."""
    if back is not None:
        page = page.moved(back, image.width, image.height)
    return page.scaled_to(width, height)


def read_segmented_page(recognizer, xml_path: str | Path, batch_size: int = 16) -> Page:
    """A page whose lines are given: an ALTO or PAGE XML file (as eScriptorium or kraken
    export it) -> its :class:`~recognize.layout.page.Page` with each of its lines read, in
    its order, keeping its ids, polygons and baselines. The page image is the file the XML
    names beside it, else the image of the same name. :class:`~recognize.errors.ImageError`
    or :class:`~recognize.errors.RecognizeError` (one line) when either cannot be read."""
    xml_path = Path(xml_path)
    page, name = read_page_xml(xml_path)
    page.file = str(image_beside(xml_path, name))
    (width, height), image = page_image(page.file)
    page.scaled_to(image.width, image.height)  # to the image, or its shrunk copy
    read_lines(recognizer, page, even_out(to_gray(image)), batch_size)
    return page.scaled_to(width, height)


def image_beside(xml_path: Path, name: str | None) -> Path:
    """The page image of ``xml_path``: the file it names, beside it, else one of its stem."""
    if name and (xml_path.parent / name).is_file():
        return xml_path.parent / name
    for suffix in HANDWRITING.suffixes:
        if xml_path.with_suffix(suffix).is_file():
            return xml_path.with_suffix(suffix)
    raise ImageError(f"{xml_path}: its page image ({name or xml_path.stem + '.*'}) is not beside it")


def page_image(path: str | Path | DocumentPage) -> tuple[tuple[int, int], Image.Image]:
    """``((width, height) of the scan, the page image, shrunk to at most READ_PIXELS)``;
    :class:`~recognize.errors.ImageError` for an image too small to be a page."""
    document = isinstance(path, DocumentPage)
    width, height = path.size() if document else header_size(path)
    if min(width, height) < MIN_PAGE_SIDE:
        raise ImageError(f"{path}: {width}x{height} pixels is too small for a page of lines "
                         f"(use --layout line for a line image)")
    if document:
        return (width, height), path.open(MAX_PAGE_PIXELS, reduce_to=READ_PIXELS)
    return (width, height), open_image(path, limit=MAX_PAGE_PIXELS, reduce_to=READ_PIXELS)


def read_lines(recognizer, page: Page, gray: np.ndarray, batch_size: int) -> None:
    """Read each found line of ``page`` from the ``(H, W)`` gray page it was found on:
    its text, confidence and characters set in place (lines that cut to nothing dropped)."""
    inputs, scales = line_inputs(page, gray, recognizer.cfg.image)
    for indices, log_probs, out_lens in recognizer.batches(inputs, batch_size):
        units = [recognizer.frame_unit * scales[i] for i in indices]
        for i, hyp in zip(indices, recognizer.decode(log_probs, out_lens, recognizer.alphabet, units)):
            line, x0 = page.lines[i], max(0, page.lines[i].box[0])
            line.text = hyp.text
            line.confidence = round(float(np.mean([t.prob for t in hyp.tokens])), 4) if hyp.tokens else None
            line.characters = [{**c, "x0": round(c["x0"] + x0, 1), "x1": round(c["x1"] + x0, 1)}
                               for c in characters(hyp, recognizer.alphabet)]


def line_inputs(page: Page, gray: np.ndarray, image_cfg) -> tuple[list[np.ndarray], list[float]]:
    """Each line of ``page`` cut from the ``(H, W)`` gray page along its polygon, levelled and
    height-normalized as the model's line images are: ``(W_i, height)`` inputs, and the
    page pixels each input column spans. Lines with no pixels inside the page are dropped."""
    paper = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    inputs, scales, kept = [], [], []
    for line in page.lines:
        crop = cut_line(paper, line.polygon)
        if crop is None:
            continue
        crop = straighten(crop, line.baseline)
        ink, width = normalize_line(np.asarray(crop, dtype=np.float32) / 255, image_cfg.height,
                                    stretch=image_cfg.stretch,
                                    level=image_cfg.level and not line.baseline)  # no baseline given: as line images
        inputs.append(np.ascontiguousarray(ink.T))  # (W, H), as the model reads a line
        scales.append(width / ink.shape[1])
        kept.append(line)
    page.lines = kept
    return inputs, scales
