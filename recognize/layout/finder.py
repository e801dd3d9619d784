"""Finding the text lines of a page image without a trained model (numpy and scipy).

The page is looked at ``WORK_WIDTH`` pixels wide (wider where its lines lie closer than
``CLOSE_SPACING``: small writing, several columns). Ink is what is darker than the paper
(the median pixel) by a third of the way to the darkest ink; long thin horizontal and
vertical runs of it — the ruling of a form, frames, margins — are removed, so that they
neither join lines nor become lines. The line spacing is the first strong peak of the
rows' ink profile's autocorrelation (the median over vertical strips). The ink's
connected components then make lines:

1. in each of ``STRIPS`` vertical strips of a column, the rows' ink profile (smoothed at
   a sixth of the spacing) has a peak per line; peaks of neighbouring strips at the same
   height (within half a spacing, following the slope so far, or the page's slant while
   a line has one point) are linked into a line's centre, so that slanted and wavy lines
   are followed, and a line broken by a stray peak is joined again;
2. a component that reaches over two line centres (a descender touching the capital
   under it, or words of three lines linked stroke to stroke) is cut between them, each
   pixel going to the nearest centre;
3. each component goes to the line whose centre is nearest its median ink pixel, among
   the lines that reach it (within a strip of their ends), so that a short line does not
   claim its neighbours' strokes past its end;
4. a line is the envelope of its components (top and bottom edge every few pixels, as
   high as its ink one and a half spacings either side, so that no stroke is cut off),
   padded, and kept within a band around its baseline (0.9 spacings above, 0.25 below:
   tall ascenders and long descenders are cut, as in the annotated lines the model
   learned from, and a line's box, hence the size of its writing at the model's height,
   no longer follows its longest stroke); its baseline is a straight fit to where its
   ink thins out under its core, strip by strip.

Lines whose components are smaller than ``SMALL_PRINT`` of the page's (by area) are
dropped: a form's printed notice and specks are not handwriting. Columns are split at
vertical gaps of no ink wider than the line spacing, and read left to right.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image
from scipy import ndimage

from ..inputs.level import baseline, ink_of, smooth
from .page import TextLine

WORK_WIDTH = 1000  # pixels: a letter or A4 page at about 120 dpi
CLOSE_SPACING = 24  # pixels: lines closer than this at WORK_WIDTH (small writing, columns) ...
WANTED_SPACING = 36  # ... are looked at wider, so that they lie this far apart
MAX_WORK_WIDTH = 3000  # pixels: but no wider than this
RULE_LENGTH = 0.12  # a run of ink this long (share of the page width) is ruling, not writing
STRIPS = 5  # vertical strips in which line centres are found
SMALL_PRINT = 0.4  # lines of components under this share of the page's typical height are dropped
PEAK_FLOOR = 0.08  # a profile peak under this share of the strong peaks is noise
PAD = 2  # pixels (at WORK_WIDTH) around a line's ink
ENVELOPE_STEP = 6  # pixels (at WORK_WIDTH): a line's outline has a point this often
WIDEN = 1.5  # line spacings: a line's outline is as high as its ink this far either side
ABOVE_BASELINE = 0.9  # line spacings: ... but reaches no higher above its baseline than this
BELOW_BASELINE = 0.25  # ... nor lower below it than this (the cut of the lines the model learned from)
TALLEST_WRITING = 2.5  # line spacings: a taller component is not one line's writing ...
TALLEST_TOUCHING = 5  # ... but up to this tall, lines touching one another (cut between them); taller, a drawing


def find_lines(gray: np.ndarray) -> list[TextLine]:
    """``(H, W)`` gray page, 0 black and 1 white -> its text lines in reading order
    (columns left to right, lines top to bottom), polygons and baselines in the page's
    pixels. A blank page gives no lines."""
    ink, scale = work_ink(gray, WORK_WIDTH)
    if not ink.any():
        return []
    spacing = line_spacing(ink)
    if spacing < CLOSE_SPACING and WORK_WIDTH < gray.shape[1]:  # small writing, or columns: look closer
        ink, scale = work_ink(gray, min(gray.shape[1], MAX_WORK_WIDTH, round(WORK_WIDTH * WANTED_SPACING / spacing)))
        spacing = line_spacing(ink)
    labels, count = ndimage.label(ink, np.ones((3, 3)))
    components = Components(labels, count, spacing)
    text = components.text_mask()
    spans = [(x0, x1, [c + (x0, 0) for c in line_centres(text[:, x0:x1], spacing)])
             for x0, x1 in columns(text, spacing)]
    components = Components(*split_across_lines(components, spans), spacing)
    lines = [m for span in spans for m in group_into_lines(components, *span)]
    typical = components.typical_height()
    lines = [m for m in lines if components.height_of(m) >= SMALL_PRINT * typical
             and components.area_of(m) >= 0.5 * typical**2]
    return [line_of(components, members, scale) for members in lines]


def work_ink(gray: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """``(H, W)`` gray page -> its ink without ruling, ``width`` pixels wide, and the scale."""
    scale = width / gray.shape[1]
    small = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    small = np.asarray(small.resize((width, max(1, round(gray.shape[0] * scale))), Image.Resampling.BOX))
    return remove_ruling(ink_of(small.astype(np.float32) / 255)), scale


def runs_at_least(mask: np.ndarray, length: int) -> np.ndarray:
    """The cells of ``(H, W)`` bool ``mask`` in a horizontal run of True at least ``length`` long."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    change = np.diff(padded, axis=1)
    rows, starts = np.nonzero(change == 1)
    ends = np.nonzero(change == -1)[1]
    out = np.zeros(mask.shape, dtype=bool)
    for row, start, end in zip(rows, starts, ends):
        if end - start >= length:
            out[row, start:end] = True
    return out


def remove_ruling(ink: np.ndarray) -> np.ndarray:
    """``ink`` without its long horizontal and vertical runs (gaps of a few pixels bridged)
    and the pixels next to them."""
    length = int(RULE_LENGTH * ink.shape[1])
    across = runs_at_least(ndimage.binary_closing(ink, np.ones((1, 9), bool)), length)
    down = runs_at_least(ndimage.binary_closing(ink, np.ones((9, 1), bool)).T, length).T
    return ink & ~ndimage.binary_dilation(across | down, np.ones((3, 3), bool))


def line_spacing(ink: np.ndarray) -> int:
    """Rows from one line to the next in ``(H, W)`` bool ``ink``: the median over vertical
    strips (so that columns whose lines do not line up are each measured alone) of
    :func:`profile_period` of the strip's rows' ink."""
    strips = [rows for _, rows in strip_profiles(ink)]
    inked = [p for p in strips if p.sum() > 0.1 * max(q.sum() for q in strips)]
    return int(np.median([profile_period(p) for p in inked]))


def strip_profiles(mask: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """``(x, rows)`` of each of ``STRIPS`` vertical strips of ``(H, W)`` bool ``mask``: x its
    middle, rows ``(H,)`` float its pixels in each row."""
    edges = np.linspace(0, mask.shape[1], STRIPS + 1).astype(int)
    return [((a + b) / 2, mask[:, a:b].sum(1).astype(np.float64)) for a, b in itertools.pairwise(edges)]


def profile_period(profile: np.ndarray, shortest: int = 8) -> int:
    """The first autocorrelation peak of a rows' ink ``profile`` that reaches 0.6 of the
    strongest (the strongest may be twice the spacing); 20 when there is none."""
    centred = profile - profile.mean()
    ac = np.correlate(centred, centred, "full")[len(centred) - 1 :][: len(centred) // 3]
    peaks = [i for i in range(shortest, len(ac) - 1) if ac[i] >= ac[i - 1] and ac[i] > ac[i + 1] and ac[i] > 0]
    if not peaks:
        return 20
    strongest = max(ac[i] for i in peaks)
    return next(i for i in peaks if ac[i] >= 0.6 * strongest)


class Components:
    """The ink's connected components: boxes, areas, and which of them can be writing."""

    def __init__(self, labels: np.ndarray, count: int, spacing: int):
        self.labels, self.spacing = labels, spacing
        self.boxes = ndimage.find_objects(labels)
        self.area = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        self.height = np.array([b[0].stop - b[0].start for b in self.boxes])
        width = np.array([b[1].stop - b[1].start for b in self.boxes])
        flat = (self.height <= 3) & (width >= 4 * self.height)  # ruling left in pieces
        strokes = (self.area >= 6) & ~flat  # not specks
        self.writing = strokes & (self.height < TALLEST_WRITING * spacing)  # nor lines touching, frames, doodles
        self.touching = strokes & (self.height > spacing) & (self.height < TALLEST_TOUCHING * spacing)

    def text_mask(self) -> np.ndarray:
        """``(H, W)`` bool: the pixels of the components that can be writing."""
        return np.r_[False, self.writing][self.labels]

    def centre(self, k: int) -> tuple[float, float]:
        """(x, y) of component ``k``'s median ink pixel."""
        box = self.boxes[k]
        ys, xs = np.nonzero(self.labels[box] == k + 1)
        return float(np.median(xs) + box[1].start), float(np.median(ys) + box[0].start)

    def typical_height(self) -> float:
        """The :meth:`height_of` all writing components."""
        k = np.flatnonzero(self.writing)
        return self.height_of(k) if len(k) else 0.0

    def height_of(self, members) -> float:
        """The median height of ``members``, each counted by its area (so that words
        outweigh dots)."""
        return float(np.median(np.repeat(self.height[members], np.minimum(self.area[members], 1000))))

    def area_of(self, members: list[int]) -> int:
        return int(self.area[members].sum())


def columns(text: np.ndarray, spacing: int) -> list[tuple[int, int]]:
    """``[(x0, x1), ...]``: the text's extent split at vertical gaps without ink wider than
    the line spacing, left to right."""
    used = np.flatnonzero(text.any(0))
    if len(used) == 0:
        return []
    gaps = np.flatnonzero(np.diff(used) > spacing)
    starts = np.r_[used[0], used[gaps + 1]]
    ends = np.r_[used[gaps] + 1, used[-1] + 1]
    return list(zip(starts.tolist(), ends.tolist()))


def line_centres(text: np.ndarray, spacing: int) -> list[np.ndarray]:
    """Each line's centre as ``(n, 2)`` points (x, y): the rows' ink profile's peaks in
    vertical strips of ``text``, linked from strip to strip."""
    strips = []
    for x, rows in strip_profiles(text):
        profile = smooth(rows, spacing / 6)
        peaks = [i for i in range(1, len(profile) - 1)
                 if profile[i] >= profile[i - 1] and profile[i] > profile[i + 1] and profile[i] > 0]
        strips.append((x, profile, peaks))
    heights = [profile[i] for _, profile, peaks in strips for i in peaks]
    if not heights:
        return []
    floor = PEAK_FLOOR * np.percentile(heights, 90)
    kept = [(x, separate([i for i in peaks if profile[i] > floor], profile, spacing)) for x, profile, peaks in strips]
    slant = 0.0
    for _ in range(2):  # the second time, lines not yet followed far start at the page's slant
        chains: list[list[tuple[float, float]]] = []
        for x, ys in kept:
            link(chains, x, ys, spacing, reach=2.5 * (text.shape[1] // STRIPS), slant=slant)
        chains = join_broken(chains, spacing, slant)
        slopes = [slope_of(chain, 0.0) for chain in chains if len(chain) >= 3]
        slant = float(np.median(slopes)) if slopes else 0.0
    return [np.array(chain, dtype=np.float64) for chain in chains]


def separate(peaks: list[int], profile: np.ndarray, spacing: int) -> list[int]:
    """``peaks`` without those closer than half a line spacing to a stronger one."""
    kept: list[int] = []
    for i in peaks:
        if kept and i - kept[-1] < 0.55 * spacing:
            if profile[i] > profile[kept[-1]]:
                kept[-1] = i
        else:
            kept.append(i)
    return kept


def slope_of(chain: list, slant: float) -> float:
    """The slope of a straight fit to ``chain``'s points; ``slant`` for a single point."""
    if len(chain) < 2:
        return slant
    xs, ys = np.array(chain).T
    return float(np.polyfit(xs, ys, 1)[0])


def link(chains: list, x: float, ys: list[int], spacing: int, reach: float, slant: float) -> None:
    """Append each peak ``(x, y)`` of one strip to a chain that, followed at its slope,
    passes within half a spacing of it (nearest pairs first), or start a new chain."""
    pairs = []
    for c, chain in enumerate(chains):
        (px, py), slope = chain[-1], slope_of(chain, slant)
        if x - px < reach:
            pairs += [(abs(py + slope * (x - px) - y), c, y) for y in ys]
    taken, placed = set(), set()
    for d, c, y in sorted(pairs):
        if d < 0.5 * spacing and c not in taken and y not in placed:
            chains[c].append((x, float(y)))
            taken.add(c)
            placed.add(y)
    chains += [[(x, float(y))] for y in ys if y not in placed]


def join_broken(chains: list, spacing: int, slant: float) -> list:
    """``chains`` with each one that starts where another ended, at the height the other
    reaches at the page's ``slant`` (within half a spacing, nearest first), joined to it:
    one stray peak breaks no line in two."""
    chains = sorted(chains, key=lambda chain: chain[0][0])
    for later in list(chains):
        (x, y) = later[0]
        misses = [(abs(chain[-1][1] + slant * (x - chain[-1][0]) - y), c) for c, chain in enumerate(chains)
                  if chain[-1][0] < x]
        misses = [m for m in misses if m[0] < 0.5 * spacing]
        if misses:
            chains[min(misses)[1]] += later
            chains.remove(later)
    return chains


def split_across_lines(components: Components, spans: list[tuple]) -> tuple[np.ndarray, int]:
    """The labels with each component of strokes that reaches over two or more line
    centres of its column (``spans``: ``(x0, x1, centres)``, centres in page x, y, each
    followed a strip past its ends) cut between them, each pixel going to the nearest
    centre: the descender of one line touching the capital under it joins neither line to
    the other, and words of three lines linked by their strokes go each to its own.
    Returns ``(labels, count)``."""
    labels, count = components.labels.copy(), len(components.boxes)
    margin = 0.1 * components.spacing  # a centre this far inside the component's box is one it reaches over
    for k in np.flatnonzero(components.touching):
        box = components.boxes[k]
        cx = (box[1].start + box[1].stop) / 2
        span = next((span for span in spans if span[0] <= box[1].start < span[1]), None)
        if span is None:  # left of every column's writing
            continue
        x0, x1, centres = span
        reach = (x1 - x0) / STRIPS
        inside = [c for c in centres if c[0, 0] - reach <= cx <= c[-1, 0] + reach
                  and box[0].start + margin < np.interp(cx, c[:, 0], c[:, 1]) < box[0].stop - margin]
        if len(inside) < 2:
            continue
        ys, xs = np.nonzero(labels[box] == k + 1)
        xs, ys = xs + box[1].start, ys + box[0].start
        nearest = np.argmin([np.abs(np.interp(xs, c[:, 0], c[:, 1]) - ys) for c in inside], axis=0)
        for part in range(1, len(inside)):
            count += 1
            labels[ys[nearest == part], xs[nearest == part]] = count
    return labels, count


def group_into_lines(components: Components, x0: int, x1: int, centres: list[np.ndarray]) -> list[list[int]]:
    """The writing components of the column ``[x0, x1)`` grouped by line along its line
    ``centres`` (page x, y), top to bottom. A component goes to the centre nearest its
    median ink pixel among those that reach it (within a strip of their ends)."""
    if not centres:
        return []
    reach = (x1 - x0) / STRIPS  # a strip's width past a centre's ends
    members: list[list[int]] = [[] for _ in centres]
    ks = [k for k in np.flatnonzero(components.writing) if x0 <= components.boxes[k][1].start < x1]
    if not ks:
        return []
    cx, cy = np.array([components.centre(k) for k in ks]).T
    distance = np.abs(np.array([np.interp(cx, c[:, 0], c[:, 1]) for c in centres]) - cy)  # (lines, components)
    beyond = np.array([np.maximum(c[0, 0] - cx, cx - c[-1, 0]) > reach for c in centres])
    distance[beyond & ~beyond.all(0)] = np.inf  # a line claims only what lies along it, where it can
    nearest = np.argmin(distance, axis=0)
    for k, j, d in zip(ks, nearest, distance[nearest, np.arange(len(ks))]):
        if d < 0.75 * components.spacing:
            members[j].append(int(k))
    lines = [without_strays(components, m) for m in members if m]
    return sorted(lines, key=lambda m: min(components.boxes[k][0].start for k in m))


def without_strays(components: Components, members: list[int]) -> list[int]:
    """A line's components less the small ones far from the rest (more than two line
    spacings away sideways): specks and others' strokes that would stretch its box."""
    if len(members) < 2:
        return members
    spans = {k: (components.boxes[k][1].start, components.boxes[k][1].stop) for k in members}
    big = max(components.area[k] for k in members)

    def gap(k):
        return min(max(spans[j][0] - spans[k][1], spans[k][0] - spans[j][1], 0) for j in members if j != k)

    return [k for k in members if components.area[k] > 0.1 * big or gap(k) <= 2 * components.spacing]


def line_of(components: Components, members: list[int], scale: float) -> TextLine:
    """A :class:`TextLine` in page pixels from its components' pixels at work scale."""
    mask = np.isin(components.labels, np.array(members) + 1)
    ys, xs = np.nonzero(mask)
    base = baseline(xs, ys)
    band = (ABOVE_BASELINE * components.spacing, BELOW_BASELINE * components.spacing) if base else None
    polygon = envelope(xs, ys, reach=round(WIDEN * components.spacing / ENVELOPE_STEP), base=base, band=band)
    return TextLine([(x / scale, y / scale) for x, y in polygon], [(x / scale, y / scale) for x, y in base])


def envelope(xs: np.ndarray, ys: np.ndarray, reach: int, step: int = ENVELOPE_STEP, base=(),
             band: tuple[float, float] | None = None) -> list[tuple[float, float]]:
    """A polygon around the pixels ``(xs, ys)``: their top and bottom every ``step`` columns,
    widened over ``reach`` steps either side (no narrow notches), padded by ``PAD``; with
    ``band`` ``(above, below)``, kept within that many pixels of the baseline ``base``."""
    x0, x1 = int(xs.min()), int(xs.max()) + 1
    bins = (xs - x0) // step
    n = int(bins.max()) + 1
    top, bottom = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(top, bins, ys)
    np.maximum.at(bottom, bins, ys)
    index, filled = np.arange(n), np.isfinite(top)
    top = np.interp(index, index[filled], top[filled])
    bottom = np.interp(index, index[filled], bottom[filled])
    top = np.array([top[max(0, i - reach) : i + reach + 1].min() for i in index]) - PAD
    bottom = np.array([bottom[max(0, i - reach) : i + reach + 1].max() for i in index]) + PAD + 1
    left = np.maximum(x0, x0 + index * step) - PAD
    if band:
        (bx0, by0), (bx1, by1) = base[0], base[-1]
        under = by0 + (left + PAD - bx0) * (by1 - by0) / max(bx1 - bx0, 1)  # the baseline at each point
        top = np.maximum(top, under - band[0])
        bottom = np.maximum(np.minimum(bottom, under + band[1]), top + 1)
    upper = list(zip(left.tolist(), top.tolist())) + [(x1 + PAD, float(top[-1]))]
    lower = [(x1 + PAD, float(bottom[-1]))] + list(zip(left[::-1].tolist(), bottom[::-1].tolist()))
    return [(float(x), float(y)) for x, y in upper + lower]
