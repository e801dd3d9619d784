"""Images in, ``(height, W)`` float32 arrays out.

Convention for every array: background (paper) is 0 and ink goes towards 1, so the
zero padding on the right of a batch is blank paper. Any file and mode Pillow reads
is accepted; the EXIF orientation is applied; light-on-dark images are inverted.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError, RecognizeWarning
from .files import check_regular
from .level import level_line

# Images with more pixels are refused from their header, before decoding (a 1-bit PNG
# declaring 20000 x 20000 pixels is 50 kB on disk and 400 MB decoded). A 600-dpi A4
# page scan is 35 megapixels; text lines are far smaller.
MAX_PIXELS = 50_000_000
# Lines under this share of the model's height are enlarged so far that they read worse:
# the first 150 Copiste validation lines shrunk to 24 px read 18.4 % CER greedy, at 64 px 13.0 %.
SMALL_LINE = 0.4
# Files people give that Pillow cannot open, and what to do instead.
NOT_PILLOW = {
    ".pdf": " (a PDF: `recognize read` reads its pages; elsewhere render them to images first, e.g. pdftoppm -png)",
    ".heic": " (HEIC, as phones save photos: convert it to PNG or JPEG first)",
    ".heif": " (HEIF: convert it to PNG or JPEG first)",
    **{suffix: " (audio: speech is transcribed with `recognize transcribe`)"
       for suffix in (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".sph", ".aif", ".aiff", ".au", ".m4a")},
}


def open_image(path: str | Path, content: bytes | None = None, limit: int = MAX_PIXELS,
               reduce_to: int = 0) -> Image.Image:
    """Decode an image file (first frame) with its EXIF orientation applied; ``content``:
    the file's bytes, already read (``path`` then only names it). With ``reduce_to``, an
    image of more pixels is shrunk by a whole factor to at most that many, a JPEG already
    while it is decoded (so a 600 dpi A3 scan never takes its full size in memory).

    Raises :class:`ImageError` with one line naming the file: missing, a directory,
    empty, not an image, truncated or corrupt, no pixels, more than ``limit`` pixels.
    """
    import io

    path = Path(path)
    if content is None:
        check_regular(path, ImageError)
    if (len(content) if content is not None else path.stat().st_size) == 0:
        raise ImageError(f"{path}: empty file")
    with warnings.catch_warnings():
        # our own limit is checked from the header; Pillow's bomb warning stands for it by default
        warnings.simplefilter("error" if limit <= MAX_PIXELS else "ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content) if content is not None else path) as image:
                width, height = image.size
                if width * height == 0:
                    raise ImageError(f"{path}: image has no pixels ({width}x{height})")
                if width * height > limit:
                    raise ImageError(f"{path}: {width}x{height} image has too many pixels (limit {limit:,})")
                if reduce_to and width * height > reduce_to:
                    return ImageOps.exif_transpose(shrunk(image, reduce_to))
                image.load()
                return ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{path}: image has too many pixels (limit {limit:,})") from None
        except UnidentifiedImageError:
            hint = NOT_PILLOW.get(path.suffix.lower(), "")
            raise ImageError(f"{path}: not an image file Pillow can read{hint}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            reason = " ".join(str(e).split()) or type(e).__name__
            raise ImageError(f"{path}: truncated or unreadable image ({reason})") from None


def shrunk(image: Image.Image, pixels: int) -> Image.Image:
    """``image`` decoded at a whole fraction of its size with at most ``pixels`` pixels: a
    JPEG by its decoder's own scaling (1/2, 1/4, 1/8), then by averaging blocks."""
    factor = math.ceil(math.sqrt(image.width * image.height / pixels))
    if image.format == "JPEG":
        image.draft(image.mode, (image.width // factor, image.height // factor))
    image.load()
    rest = math.ceil(math.sqrt(image.width * image.height / pixels))
    return image.reduce(rest) if rest > 1 else image


def header_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image from its header, EXIF orientation applied, without
    decoding its pixels. Raises :class:`ImageError` as :func:`open_image` does."""
    path = Path(path)
    check_regular(path, ImageError)
    try:
        with Image.open(path) as image:
            width, height = image.size
            turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientation: a quarter turn
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return open_image(path).size
    return (height, width) if turned else (width, height)


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
        return np.asarray(image.convert("L"), dtype=np.float32) / 255  # in [0, 1] already
    return np.clip(gray, 0, 1)


def load_image(path: str | Path, height: int, min_width: int = 1, content: bytes | None = None,
               stretch: bool = False, level: bool = False) -> np.ndarray:
    """Read a line image as ``(height, W)`` float32 in [0, 1], background 0, ink towards 1.

    The aspect ratio is kept: ``W = max(min_width, max(1, round(width * height / H)))``;
    narrow images are padded on the right with background. Shrinking averages pixel
    areas (box filter), enlarging uses Lanczos. Dark ink on light paper is inverted; an
    image whose border is mostly dark (light ink on a dark ground) is kept as it is.
    ``stretch``: :func:`stretch_contrast` (``image.stretch``); ``level``: the line turned
    level first (:func:`recognize.inputs.level.level_line`, ``image.level``).
    Raises :class:`ImageError` (see :func:`open_image`).
    """
    return load_line(path, height, min_width, content, stretch, level=level)[0]


def stretch_contrast(ink: np.ndarray) -> np.ndarray:
    """``(H, W)`` ink in [0, 1] -> the same with its background (the median pixel: most of
    a line is paper) at 0 and its strongest ink at 1, so that grey paper, faint ink or a
    dim photo read like a clean scan. A line with less than 0.05 between the two (no ink)
    is left as it is."""
    background, full = np.median(ink), ink.max()
    if full - background < 0.05:
        return ink
    return np.clip((ink - background) / (full - background), 0, 1).astype(np.float32)


def warn_if_small(path, what: str, pixels: float, height: int) -> None:
    """A :class:`RecognizeWarning` when lines ``pixels`` high are under ``SMALL_LINE`` of
    the model's ``height``: enlarged that much they read worse than the model's card says."""
    if pixels < SMALL_LINE * height:
        warnings.warn(f"{path}: {what} {pixels:.0f} px high, enlarged {height / pixels:.1f}x to the model's "
                      f"{height} px: writing this small reads worse than lines of {math.ceil(SMALL_LINE * height)} px "
                      "or more (a scan of higher resolution reads better); reading anyway", RecognizeWarning,
                      stacklevel=3)


def load_line(path: str | Path, height: int, min_width: int = 1, content: bytes | None = None,
              stretch: bool = False, max_width: int = 0, level: bool = False,
              warn_small: bool = False) -> tuple[np.ndarray, int]:
    """:func:`load_image` and the image's own width in pixels (after EXIF orientation),
    to map positions in the normalized line back onto the input image. ``max_width``: the
    widest line (at ``height``) accepted; wider is an :class:`ImageError` before any scaling.
    ``warn_small``: :func:`warn_if_small` (reading, not training)."""
    image = open_image(path, content)
    width = round(image.width * height / image.height)
    if max_width and width > max_width:
        raise ImageError(f"{path}: {image.width}x{image.height} pixels is {width} wide at the model's height of "
                         f"{height} (limit {max_width}: image.max_width)")
    if warn_small:
        warn_if_small(path, "a line image", image.height, height)
    return normalize_line(to_gray(image), height, min_width, stretch, level)


def normalize_line(gray: np.ndarray, height: int, min_width: int = 1, stretch: bool = False,
                   level: bool = False) -> tuple[np.ndarray, int]:
    """``(H, W)`` gray line (1 white) -> (``(height, W')`` float32 ink, background 0, as
    :func:`load_image` makes it; ``W``, the line's own width)."""
    if level:
        gray = level_line(gray)
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
