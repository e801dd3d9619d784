"""Image input on real handwriting: a Copiste line in every mode and format Pillow writes,
broken and hostile files, ALTO/PAGE pages -> line crops, and the line distortions."""

import struct
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pytest
from conftest import ROOT, SHARED_DATA, needs
from PIL import Image, ImageFile, ImageOps
from scipy import ndimage

from recognize.errors import ImageError, RecognizeError
from recognize.inputs.image import MAX_PIXELS, load_image, stretch_contrast
from recognize.layout.page_xml import lines_from_page
from recognize.training.augment import distort_image

LINE = ROOT / "tests" / "data" / "copiste" / "imp_wikitexte_0022_004.png"  # 469 x 64, "de la sélection du Laos."
PAGES = SHARED_DATA / "copiste" / "pages"
ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
HEIGHT = 48  # loads below shrink the 64-px line
LOSSLESS, LOSSY = (1e-6, 1e-6), (0.01, 0.1)  # (mean, max) absolute difference


def reference(image: Image.Image, tmp_path, height=HEIGHT) -> np.ndarray:
    """What an "L" image should load to: itself saved as a lossless grayscale PNG."""
    path = tmp_path / "reference.png"
    image.save(path)
    return load_image(path, height)


def error_of(path, **kwargs) -> str:
    with pytest.raises(ImageError) as caught:
        load_image(path, HEIGHT, **kwargs)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def test_png_loads_as_inverted_gray():
    pixels = np.asarray(Image.open(LINE), dtype=np.float32) / 255
    ink = load_image(LINE, 64)
    assert ink.dtype == np.float32 and ink.shape == (64, 469)
    np.testing.assert_allclose(ink, 1 - pixels, atol=1e-6)  # background 0, ink towards 1
    assert np.median(ink) == 0 and ink.max() > 0.9


def paper(path, tmp_path, background: float, ink: float) -> Path:
    """A copy of a line image on grey paper in dim ink: white goes to ``background``, black to ``ink``."""
    gray = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255
    copy = tmp_path / f"paper-{background}-{ink}.png"
    Image.fromarray(np.round(255 * (ink + (background - ink) * gray)).astype(np.uint8)).save(copy)
    return copy


@pytest.mark.parametrize("background, ink", [(0.85, 0.1), (0.75, 0.3), (0.55, 0.15)])
def test_stretched_contrast_reads_grey_paper_and_dim_ink_like_the_scan(tmp_path, background, ink):
    scan = load_image(LINE, 64, stretch=True)
    as_scanned = load_image(LINE, 64)  # background 0 (the median), darkest ink 14/15
    np.testing.assert_allclose(scan, as_scanned / as_scanned.max(), atol=1e-6)
    dim = paper(LINE, tmp_path, background, ink)
    assert np.median(load_image(dim, 64)) == pytest.approx(1 - background, abs=0.01)  # as it is: grey background
    np.testing.assert_allclose(load_image(dim, 64, stretch=True), scan, atol=0.02)  # 8-bit rounding of the copy


def test_stretching_leaves_a_line_without_ink_alone():
    blank = np.full((64, 300), 0.2, dtype=np.float32)
    blank[10, 10] = 0.24  # a speck, 0.04 above the paper: not ink
    np.testing.assert_array_equal(stretch_contrast(blank), blank)


@pytest.mark.parametrize("height", [32, 64, 100])
def test_resize_keeps_aspect_and_ink(height):
    ink = load_image(LINE, height)
    assert ink.shape == (height, round(469 * height / 64))
    assert 0 <= ink.min() and ink.max() <= 1
    assert abs(ink.mean() - load_image(LINE, 64).mean()) < 0.05 * load_image(LINE, 64).mean()


def transparent_margin(line: Image.Image, mode: str) -> Image.Image:
    """``line`` inside a 12-px margin of transparent *black* (so ignoring alpha shows)."""
    gray = ImageOps.expand(line, border=12, fill=0)
    alpha = ImageOps.expand(Image.new("L", line.size, 255), border=12, fill=0)
    if mode == "LA":
        return Image.merge("LA", (gray, alpha))
    return Image.merge("RGBA", (gray, gray, gray, alpha))


def palette_with_transparency(line: Image.Image, path):
    """A palette PNG of the line's gray levels; the margin uses a transparent black entry."""
    pixels = np.asarray(ImageOps.expand(line, border=12, fill=0))
    levels = np.unique(np.asarray(line))
    indices = np.searchsorted(levels, pixels).astype(np.uint8)
    transparent = len(levels)
    indices[:12], indices[-12:], indices[:, :12], indices[:, -12:] = transparent, transparent, transparent, transparent
    image = Image.fromarray(indices, "P")
    image.putpalette([v for level in levels for v in (level, level, level)] + [0, 0, 0])
    image.save(path, transparency=transparent)


def exif_rotated_jpeg(line: Image.Image, path):
    """Pixels stored turned 90 degrees anticlockwise, tagged Orientation 6 ("rotate 90 CW to view")."""
    exif = Image.Exif()
    exif[0x0112] = 6
    line.transpose(Image.Transpose.ROTATE_90).save(path, quality=95, exif=exif.tobytes())
    assert Image.open(path).size == (64, 469)


def animated_gif(line: Image.Image, path):
    line.save(path, save_all=True, append_images=[Image.new("L", line.size, 0)], duration=100)
    assert Image.open(path).n_frames == 2


# name: (file name, writer(line, path), expected "L" image, tolerance)
FORMATS = {
    "1-bit": ("a.png", lambda im, p: im.convert("1", dither=Image.Dither.NONE).save(p),
              lambda im: im.convert("1", dither=Image.Dither.NONE).convert("L"), LOSSLESS),
    "L": ("a.png", lambda im, p: im.save(p), lambda im: im, LOSSLESS),
    "LA transparent margin": ("a.png", lambda im, p: transparent_margin(im, "LA").save(p),
                              lambda im: ImageOps.expand(im, border=12, fill=255), LOSSLESS),
    "P with transparency": ("a.png", palette_with_transparency, lambda im: ImageOps.expand(im, border=12, fill=255), LOSSLESS),
    "RGB": ("a.png", lambda im, p: im.convert("RGB").save(p), lambda im: im, LOSSLESS),
    "RGBA transparent margin": ("a.png", lambda im, p: transparent_margin(im, "RGBA").save(p),
                                lambda im: ImageOps.expand(im, border=12, fill=255), LOSSLESS),
    "I;16": ("a.png", lambda im, p: Image.fromarray(np.asarray(im).astype(np.uint16) * 257).save(p), lambda im: im, LOSSLESS),
    "float TIFF in [0, 1]": ("a.tif", lambda im, p: Image.fromarray(np.asarray(im, np.float32) / 255).save(p),
                             lambda im: im, LOSSLESS),
    "float TIFF in [0, 255]": ("a.tif", lambda im, p: Image.fromarray(np.asarray(im, np.float32)).save(p),
                               lambda im: im, LOSSLESS),
    "CMYK JPEG": ("a.jpg", lambda im, p: im.convert("CMYK").save(p, quality=95), lambda im: im, LOSSY),
    "TIFF": ("a.tif", lambda im, p: im.save(p, compression="tiff_lzw"), lambda im: im, LOSSLESS),
    "BMP": ("a.bmp", lambda im, p: im.save(p), lambda im: im, LOSSLESS),
    "WebP": ("a.webp", lambda im, p: im.save(p, quality=90), lambda im: im, LOSSY),
    "EXIF-rotated JPEG": ("a.jpg", exif_rotated_jpeg, lambda im: im, LOSSY),
    "white on black": ("a.png", lambda im, p: ImageOps.invert(im).save(p), lambda im: im, LOSSLESS),
    "animated GIF": ("a.gif", animated_gif, lambda im: im, LOSSLESS),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_mode_and_format_loads_like_the_png(name, tmp_path):
    filename, write, expected, (mean_tol, max_tol) = FORMATS[name]
    line = Image.open(LINE)
    path = tmp_path / filename
    write(line, path)
    want = reference(expected(line), tmp_path)
    got = load_image(path, HEIGHT)
    w, h = expected(line).size
    assert got.dtype == np.float32 and got.shape == want.shape == (HEIGHT, round(w * HEIGHT / h))
    difference = np.abs(got - want)
    assert difference.mean() <= mean_tol and difference.max() <= max_tol, (difference.mean(), difference.max())


def test_tiny_narrow_and_blank_images(tmp_path):
    Image.new("L", (1, 1), 255).save(tmp_path / "dot.png")
    assert np.array_equal(load_image(tmp_path / "dot.png", HEIGHT, min_width=100), np.zeros((HEIGHT, 100), np.float32))
    narrow = Image.open(LINE).crop((0, 0, 8, 64))  # the first stroke of "de": 6 px wide at height 48
    narrow.save(tmp_path / "narrow.png")
    ink = load_image(tmp_path / "narrow.png", HEIGHT, min_width=32)
    assert ink.shape == (HEIGHT, 32) and ink[:, :6].any() and not ink[:, 6:].any()
    np.testing.assert_allclose(ink[:, :6], reference(narrow, tmp_path), atol=1e-6)
    Image.new("L", (400, 64), 255).save(tmp_path / "blank.png")
    assert load_image(tmp_path / "blank.png", HEIGHT).shape == (HEIGHT, 300)
    assert load_image(tmp_path / "blank.png", HEIGHT).max() < 1e-6


def test_broken_files_are_one_line_errors(tmp_path):
    assert "no such file" in error_of(tmp_path / "missing.png")
    (tmp_path / "folder.png").mkdir()
    assert "directory" in error_of(tmp_path / "folder.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in error_of(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("de la sélection du Laos.\n")
    assert "not an image" in error_of(tmp_path / "text.png")
    data = LINE.read_bytes()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    assert "truncated" in error_of(tmp_path / "half.png")
    Image.open(LINE).save(tmp_path / "full.jpg", quality=90)
    jpeg = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    assert "truncated" in error_of(tmp_path / "half.jpg")
    # The PNG header of the real line, declaring a width of 0 (with a valid checksum).
    header = bytearray(data[12:29])
    header[4:8] = struct.pack(">I", 0)
    (tmp_path / "zero.png").write_bytes(data[:12] + header + struct.pack(">I", zlib.crc32(header)) + data[33:])
    error_of(tmp_path / "zero.png")


def test_a_pdf_or_a_phone_photo_gets_the_way_round(tmp_path):
    Image.open(LINE).convert("RGB").save(tmp_path / "scan.pdf")  # a real PDF holding the line image
    assert error_of(tmp_path / "scan.pdf").endswith("not an image file Pillow can read (a PDF: `recognize read` "
                                                    "reads its pages; elsewhere render them to images first, e.g. "
                                                    "pdftoppm -png)")
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    assert "(HEIC, as phones save photos: convert it to PNG or JPEG first)" in error_of(tmp_path / "photo.heic")


@pytest.mark.parametrize("side", [8000, 20000])
def test_decompression_bombs_are_refused_before_decoding(side, tmp_path, monkeypatch):
    # 8000^2 = 64 MP: over our limit, under Pillow's own (89 MP); 20000^2 = 400 MP: over both.
    assert side * side > MAX_PIXELS and (side * side < Image.MAX_IMAGE_PIXELS) == (side == 8000)
    path = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(path)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded the bomb"))
    assert "too many pixels" in error_of(path)


def polygons(xml_path) -> list[tuple[str, list[tuple[float, float]], str]]:
    """(id, polygon, text) of each ALTO v4 TextLine, read here independently of recognize."""
    lines = []
    for line in ET.parse(xml_path).getroot().iter(f"{ALTO}TextLine"):
        polygon = line.find(f"{ALTO}Shape/{ALTO}Polygon")
        numbers = [float(v) for v in polygon.get("POINTS").split()]
        text = " ".join(s.get("CONTENT") for s in line.findall(f"{ALTO}String"))
        lines.append((line.get("ID"), list(zip(numbers[0::2], numbers[1::2])), text))
    return lines


def inside(points, left, top, width, height) -> np.ndarray:
    """Even-odd rule on pixel centres, row by row: ``(height, width)`` bool."""
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    x1, y1, x2, y2 = xs, ys, np.roll(xs, -1), np.roll(ys, -1)
    mask = np.zeros((height, width), bool)
    for row in range(height):
        y = top + row
        crossing = (y1 > y) != (y2 > y)
        cuts = np.sort(x1[crossing] + (y - y1[crossing]) * (x2 - x1)[crossing] / (y2 - y1)[crossing])
        mask[row] = np.searchsorted(cuts, left + np.arange(width)) % 2 == 1
    return mask


@needs(PAGES)
@pytest.mark.parametrize("page", ["imp_wikitexte_0022", "imp_wikitexte_0183", "wikitexte_0044_2", "wikitexte_0214"])
def test_lines_from_real_alto_pages(page):
    expected = polygons(PAGES / f"{page}.xml")
    lines = lines_from_page(PAGES / f"{page}.xml")
    scan = np.asarray(Image.open(PAGES / f"{page}.jpg").convert("L"))
    assert len(lines) == len(expected) > 10
    for line, (line_id, points, text) in zip(lines, expected):
        assert line["id"] == line_id and line["text"] == text and text
        assert unicodedata.is_normalized("NFC", line["text"])
        left, top = int(min(x for x, _ in points)), int(min(y for _, y in points))
        right = min(int(max(x for x, _ in points)) + 1, scan.shape[1])  # polygons may touch the edge
        bottom = min(int(max(y for _, y in points)) + 1, scan.shape[0])
        width, height = right - left, bottom - top
        crop = np.asarray(line["image"])
        assert line["image"].mode == "L" and crop.shape == (height, width)
        polygon = inside(points, left, top, width, height)
        outside = ~ndimage.binary_dilation(polygon, iterations=2)  # away from the boundary
        assert outside.any() and (crop[outside] == 255).all()
        within = ndimage.binary_erosion(polygon, iterations=2)
        assert np.array_equal(crop[within], scan[top : top + height, left : left + width][within])


@needs(PAGES)
def test_lines_from_real_alto_pages_match_the_line_release():
    import csv

    with open(SHARED_DATA / "copiste" / "lines.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for xml in sorted(PAGES.glob("*.xml")):
        released = [r["text"] for r in rows if r["line_id"].rsplit("_", 1)[0] == xml.stem]
        assert [line["text"] for line in lines_from_page(xml)] == released


def page_xml(lines: list[tuple[str, str, str]], image_name: str) -> str:
    """A PAGE 2019 document with TextLines (id, "x,y x,y ..." points, text), each holding a
    Word with its own TextEquiv so that the line-level one must be the one read."""
    body = "".join(
        f'<TextLine id="{i}"><Coords points="{points}"/>'
        f'<Word id="{i}w"><Coords points="{points}"/><TextEquiv><Unicode>word</Unicode></TextEquiv></Word>'
        f"<TextEquiv><Unicode>{escape(text)}</Unicode></TextEquiv></TextLine>"
        for i, points, text in lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">'
        f'<Page imageFilename="{image_name}" imageWidth="2550" imageHeight="3300">'
        f'<TextRegion id="r1"><Coords points="0,0 1,0 1,1"/>{body}</TextRegion></Page></PcGts>'
    )


@needs(PAGES)
def test_page_xml_gives_the_same_crops_as_alto(tmp_path):
    alto = lines_from_page(PAGES / "imp_wikitexte_0022.xml")
    first = polygons(PAGES / "imp_wikitexte_0022.xml")[1:4]
    lines = [(i, " ".join(f"{x:g},{y:g}" for x, y in pts), unicodedata.normalize("NFD", t)) for i, pts, t in first]
    lines.append(("empty", "", "no polygon"))
    (tmp_path / "page.xml").write_text(page_xml(lines, "imp_wikitexte_0022.jpg"), encoding="utf-8")
    crops = lines_from_page(tmp_path / "page.xml", PAGES / "imp_wikitexte_0022.jpg")
    assert [c["id"] for c in crops] == [i for i, _, _ in first]  # the line without a polygon is skipped
    for crop, want in zip(crops, alto[1:4]):
        assert crop["text"] == want["text"] and unicodedata.is_normalized("NFC", crop["text"])
        assert np.array_equal(np.asarray(crop["image"]), np.asarray(want["image"]))
    with pytest.raises(ImageError, match="no such file"):  # the image named in the XML, beside it
        lines_from_page(tmp_path / "page.xml")


@needs(PAGES)
def test_alto_variants_comma_points_boxes_and_scaled_coordinates(tmp_path):
    """ALTO v2 namespace, "x,y" points, a line with only HPOS/VPOS/WIDTH/HEIGHT, and a
    document whose coordinates are twice the image's (declared by the Page size)."""
    (_, points, text), = polygons(PAGES / "imp_wikitexte_0022.xml")[1:2]
    want = lines_from_page(PAGES / "imp_wikitexte_0022.xml")[1]

    def alto(scale: int) -> str:
        pts = " ".join(f"{x * scale:g},{y * scale:g}" for x, y in points)
        words = "".join(f'<String CONTENT={quoteattr(w)}/><SP/>' for w in text.split())
        return (
            '<alto xmlns="http://www.loc.gov/standards/alto/ns-v2#"><Description><sourceImageInformation>'
            "<fileName>imp_wikitexte_0022.jpg</fileName></sourceImageInformation></Description><Layout>"
            f'<Page WIDTH="{2550 * scale}" HEIGHT="{3300 * scale}"><PrintSpace><TextBlock>'
            f'<TextLine ID="poly"><Shape><Polygon POINTS="{pts}"/></Shape>{words}</TextLine>'
            f'<TextLine ID="box" HPOS="{300 * scale}" VPOS="{450 * scale}" WIDTH="{200 * scale}" '
            f'HEIGHT="{100 * scale}" CONTENT="boîte"/>'
            "</TextBlock></PrintSpace></Page></Layout></alto>"
        )

    scan = np.asarray(Image.open(PAGES / "imp_wikitexte_0022.jpg").convert("L"))
    for scale in (1, 2):
        (tmp_path / "page.xml").write_text(alto(scale), encoding="utf-8")
        poly, box = lines_from_page(tmp_path / "page.xml", PAGES / "imp_wikitexte_0022.jpg")
        assert poly["text"] == text and box["text"] == "boîte"
        assert np.array_equal(np.asarray(poly["image"]), np.asarray(want["image"]))
        assert box["image"].size == (200, 100)
        assert np.array_equal(np.asarray(box["image"]), scan[450:550, 300:500])


def test_page_files_that_are_not_page_xml(tmp_path):
    (tmp_path / "notes.xml").write_text("<notes><TextLine/></notes>")
    with pytest.raises(RecognizeError, match="neither ALTO nor PAGE"):
        lines_from_page(tmp_path / "notes.xml")
    (tmp_path / "broken.xml").write_text("<alto><Layout>")
    with pytest.raises(RecognizeError, match="not well-formed"):
        lines_from_page(tmp_path / "broken.xml")


def test_distort_image_is_a_seeded_small_change():
    line = load_image(LINE, 64)
    kept = line.copy()
    outputs = [distort_image(line, np.random.default_rng(seed)) for seed in range(20)]
    assert np.array_equal(line, kept)  # the input is not modified
    for seed, out in enumerate(outputs):
        assert out.shape == line.shape and out.dtype == np.float32
        assert 0 <= out.min() and out.max() <= 1
        assert np.array_equal(out, distort_image(line, np.random.default_rng(seed)))
        assert 0.3 * line.mean() < out.mean() < 3 * line.mean()  # still a line of ink
    changed = sum(not np.allclose(out, line) for out in outputs)
    assert changed >= 18  # each distortion has p = 1/2: all five skipped is 1 in 32
