"""Handwritten line corpora -> JSON Lines manifests, one text line per row::

    {"id": "a01-000u-00", "image": "lines/a01/a01-000u/a01-000u-00.png", "text": "A MOVE to stop Mr. Gaitskell from", ...}

Image paths are relative to the manifest's folder; extra fields (form, page, ...) are
kept. Three sources: a folder of ``x.png`` + ``x.gt.txt`` pairs (kraken, Calamari,
Tesseract), the IAM database's ``lines.txt``, and page XML (ALTO, PAGE) whose lines
are cut out as PNG files. A row whose image is missing or whose text is empty is
reported in one line and skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import RecognizeError
from ..inputs.manifest import write_manifest
from ..inputs.text import normalize_text
from ..layout.page_xml import lines_from_page

# What may sit beside x.gt.txt: x.png, OCRopus/Calamari's binarized x.bin.png, ...
IMAGE_SUFFIXES = (".png", ".bin.png", ".nrm.png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def skip(message: str) -> None:
    """Report a row that is left out of a manifest (on stderr, with the other problems)."""
    print(f"skipped: {message}", file=sys.stderr)


def relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (the manifest's), with forward slashes."""
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def finish(rows: list[dict], source: str, out_manifest: Path) -> list[dict]:
    """Write the manifest; a source that gives no usable line is an error."""
    if not rows:
        raise RecognizeError(f"{source}: no usable text lines")
    write_manifest(rows, out_manifest)
    return rows


def from_gt_folder(folder: str | Path, out_manifest: str | Path) -> list[dict]:
    """Rows for every ``x.gt.txt`` below ``folder`` with its image beside it (``x.png``,
    ``x.bin.png``, ``x.jpg``, ``x.tif``, ...); ids are the paths below ``folder``."""
    folder, out_manifest = Path(folder), Path(out_manifest)
    if not folder.is_dir():
        raise RecognizeError(f"{folder}: no such folder")
    rows = []
    for gt in sorted(folder.rglob("*.gt.txt")):
        stem = gt.name[: -len(".gt.txt")]
        image = next((gt.with_name(stem + s) for s in IMAGE_SUFFIXES if gt.with_name(stem + s).is_file()), None)
        try:
            text = normalize_text(gt.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            skip(f"{gt}: not UTF-8 text")
            continue
        if image is None:
            skip(f"{gt}: no image beside it ({stem}.png, {stem}.jpg, ...)")
        elif not text:
            skip(f"{gt}: empty transcription")
        else:
            line_id = gt.relative_to(folder).as_posix()[: -len(".gt.txt")]
            rows.append({"id": line_id, "image": relative(image, out_manifest.parent), "text": text})
    return finish(rows, str(folder), out_manifest)


def from_iam_lines(lines_txt: str | Path, lines_root: str | Path, out_manifest: str | Path) -> list[dict]:
    """Rows from the IAM database's ``ascii/lines.txt``.

    Each line reads ``a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from``:
    id, word segmentation result (``ok``/``err``, kept as ``segmentation``), graylevel,
    number of components, bounding box x y w h, and the text with ``|`` between words.
    ``lines_root`` holds ``a01/a01-000u/a01-000u-00.png`` (the extracted ``lines.tgz``),
    or holds that folder as ``lines/``. Rows keep the ``form`` (``a01-000u``).
    """
    lines_txt, out_manifest = Path(lines_txt), Path(out_manifest)
    root = Path(lines_root)
    if (root / "lines").is_dir():
        root = root / "lines"
    try:
        lines = lines_txt.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise RecognizeError(f"{lines_txt}: cannot read ({e.strerror})") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(maxsplit=8)
        if len(fields) < 9:
            raise RecognizeError(f"{lines_txt}:{number}: expected id, result, graylevel, components, x y w h and text")
        line_id, segmentation, text = fields[0], fields[1], normalize_text(fields[8].replace("|", " "))
        form = line_id.rsplit("-", 1)[0]
        image = root / form.split("-")[0] / form / f"{line_id}.png"
        if not image.is_file():
            skip(f"{line_id}: {image} is missing")
        else:
            rows.append({"id": line_id, "image": relative(image, out_manifest.parent), "text": text,
                         "form": form, "segmentation": segmentation})
    return finish(rows, str(lines_txt), out_manifest)


def cut_pages(xml_files: Iterable[str | Path], out_folder: str | Path, manifest_folder: str | Path, images: dict | None = None) -> list[dict]:
    """Cut the lines of each page XML (ALTO or PAGE, see :func:`recognize.image.lines_from_page`)
    into ``out_folder/<page>/<page>_<NNN>.png``; return their rows (images relative to
    ``manifest_folder``), with ``source_page`` (the XML's stem), ``source_line`` (the XML's
    line id) and the crop's ``width`` and ``height``. (Not ``page``: in a manifest that key
    names a page row's XML, :data:`recognize.inputs.manifest.PAGE_XML`.)

    ``images`` maps an XML path to its page image where that is not the file the XML
    names, beside it. A page that cannot be read is reported and skipped.
    """
    out_folder, manifest_folder = Path(out_folder), Path(manifest_folder)
    rows = []
    for xml in map(Path, xml_files):
        try:
            lines = lines_from_page(xml, (images or {}).get(xml))
        except RecognizeError as e:  # the page's own problem names the XML; its image's names the image
            skip(str(e) if str(e).startswith(str(xml)) else f"{xml}: {e}")
            continue
        (out_folder / xml.stem).mkdir(parents=True, exist_ok=True)
        for number, line in enumerate(lines):
            line_id = f"{xml.stem}_{number:03d}"
            if not line["text"]:
                skip(f"{xml}: line {line['id']} has no text")
                continue
            path = out_folder / xml.stem / f"{line_id}.png"
            line["image"].save(path)
            rows.append({"id": line_id, "image": relative(path, manifest_folder), "text": line["text"],
                         "source_page": xml.stem, "source_line": line["id"], "width": line["image"].width,
                         "height": line["image"].height})
    return rows


def from_pages(xml_files: Iterable[str | Path], out_folder: str | Path, out_manifest: str | Path, images: dict | None = None) -> list[dict]:
    """Line crops of page XML files written as PNG under ``out_folder`` (see :func:`cut_pages`),
    and their manifest."""
    out_manifest = Path(out_manifest)
    xml_files = list(xml_files)
    rows = cut_pages(xml_files, out_folder, out_manifest.parent, images)
    return finish(rows, f"{len(xml_files)} page XML files", out_manifest)
