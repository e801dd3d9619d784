"""A page as the layout wing sees it: its size and its text lines, each a polygon, a
baseline and (once read) a text, all in the page image's pixel coordinates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Point = tuple[float, float]
LINE_ASPECT = 2.5  # an image this many times wider than high is a line
PAGE_HEIGHT = 400  # pixels: a page is at least this high (a letter page at 50 dpi is 550); lines are lower


def is_page(width: int, height: int) -> bool:
    """Whether ``recognize read --layout auto`` takes an image of this size for a page:
    at least ``PAGE_HEIGHT`` high and less than ``LINE_ASPECT`` times as wide."""
    return height >= PAGE_HEIGHT and width < LINE_ASPECT * height


def is_page_xml(path) -> bool:
    """Whether ``path`` names an ALTO or PAGE XML file: a page whose lines are given."""
    return str(path).lower().endswith(".xml")


def reads_as_page(path, layout: str = "auto") -> bool:
    """Whether ``recognize read`` reads ``path`` as a page: a page of a PDF or TIFF
    (:class:`~recognize.inputs.documents.DocumentPage`), an ALTO or PAGE XML whose lines it
    reads, or an image that ``layout`` makes one (``"auto"``: :func:`is_page` of its
    size). :class:`~recognize.errors.ImageError` when an image's header cannot be read."""
    from ..inputs.documents import DocumentPage
    from ..inputs.image import header_size

    if isinstance(path, DocumentPage) or is_page_xml(path):
        return True
    return layout == "page" or (layout == "auto" and is_page(*header_size(path)))


@dataclass
class TextLine:
    polygon: list[Point]  # the line's outline, clockwise or not, at least 3 points
    baseline: list[Point] = field(default_factory=list)  # left to right; may be empty
    text: str = ""
    id: str = ""
    confidence: float | None = None  # mean posterior of the recognized characters
    characters: list[dict] = field(default_factory=list)  # {"char", "x0", "x1", "confidence"} in page x

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``: the polygon's bounding box, x1 and y1 one past the last pixel."""
        xs, ys = [x for x, _ in self.polygon], [y for _, y in self.polygon]
        return math.floor(min(xs)), math.floor(min(ys)), math.floor(max(xs)) + 1, math.floor(max(ys)) + 1

    def words(self) -> list[dict]:
        """The line's words, from its characters: ``{"text", "box": (x0, y0, x1, y1),
        "confidence"}`` left to right. A word runs from its first character's x0 to where
        the space after it was read (as kraken cuts characters from CTC positions: a
        character's ink lies after the frame that reads it), the last word to the line's
        end; its height is the polygon's there. ``confidence`` is the lowest of its
        characters'. A line with a text but no characters (its text from an XML file) is
        one word over its box; a blank line has none."""
        if not self.characters:
            return [{"text": self.text, "box": self.box, "confidence": self.confidence}] if self.text else []
        words, current = [], []
        for char in self.characters + [{"char": " ", "x0": self.box[2]}]:
            if char["char"] != " ":
                current.append(char)
            elif current:
                x0, x1 = current[0]["x0"], max(char["x0"], current[-1]["x1"])
                y0, y1 = height_between(self.polygon, x0, x1) or self.box[1::2]
                words.append({"text": "".join(c["char"] for c in current),
                              "box": (math.floor(x0), math.floor(y0), math.ceil(x1), math.floor(y1) + 1),
                              "confidence": min(c["confidence"] for c in current)})
                current = []
        return words

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "box": list(self.box),
                "polygon": [[round(x, 1), round(y, 1)] for x, y in self.polygon],
                "baseline": [[round(x, 1), round(y, 1)] for x, y in self.baseline],
                "confidence": self.confidence, "characters": self.characters,
                "words": [{**w, "box": list(w["box"])} for w in self.words()]}


def height_between(polygon: list[Point], x0: float, x1: float) -> tuple[float, float] | None:
    """``(top, bottom)``: the y-extent of ``polygon`` between ``x0`` and ``x1`` (its
    corners there and where its edges cross the two verticals); None if it has none there."""
    ys = []
    for (ax, ay), (bx, by) in zip(polygon, polygon[1:] + polygon[:1]):
        if x0 <= ax <= x1:
            ys.append(ay)
        for x in (x0, x1):
            if min(ax, bx) < x < max(ax, bx):
                ys.append(ay + (by - ay) * (x - ax) / (bx - ax))
    return (min(ys), max(ys)) if ys else None


@dataclass
class Page:
    file: str
    width: int
    height: int
    lines: list[TextLine] = field(default_factory=list)  # in reading order

    @property
    def text(self) -> str:
        """The lines' texts, one per line, in reading order."""
        return "\n".join(line.text for line in self.lines)

    def scaled_to(self, width: int, height: int) -> "Page":
        """The page in the pixels of a ``width`` x ``height`` image of it (its lines'
        polygons, baselines and characters scaled); a page of no known size just takes it."""
        if self.width and self.height and (width, height) != (self.width, self.height):
            sx, sy = width / self.width, height / self.height
            for line in self.lines:
                line.polygon = [(x * sx, y * sy) for x, y in line.polygon]
                line.baseline = [(x * sx, y * sy) for x, y in line.baseline]
                line.characters = [{**c, "x0": round(c["x0"] * sx, 1), "x1": round(c["x1"] * sx, 1)}
                                   for c in line.characters]
        self.width, self.height = width, height
        return self

    def moved(self, point, width: int, height: int) -> "Page":
        """The page with its lines' polygons, baselines and characters taken through
        ``point(x, y) -> (x, y)`` (from a turned copy of the page back to the page, say),
        now ``width`` x ``height``. A character's x goes through the point of its line's
        baseline there (the middle of its box where it has none)."""
        for line in self.lines:
            xs, ys = zip(*line.baseline) if len(line.baseline) > 1 else ((0.0, 1.0), (sum(line.box[1::2]) / 2,) * 2)

            def page_x(x: float) -> float:
                return round(point(x, float(np.interp(x, xs, ys)))[0], 1)

            line.characters = [{**c, "x0": page_x(c["x0"]), "x1": page_x(c["x1"])} for c in line.characters]
            line.polygon = [point(x, y) for x, y in line.polygon]
            line.baseline = [point(x, y) for x, y in line.baseline]
        self.width, self.height = width, height
        return self

    def to_dict(self) -> dict:
        """The JSON of ``recognize read --format json`` for a page."""
        return {"file": self.file, "text": self.text, "width": self.width, "height": self.height,
                "lines": [line.to_dict() for line in self.lines]}
