"""Copiste d'un jour (BAnQ, 2024): 267 volunteers' handwritten copies of French Wikipedia
summaries, CC BY 4.0, credit Bibliothèque et Archives nationales du Québec.

Two layouts are read:

- the line release (``lines.tsv`` + ``lines/<page>/<line_id>.png``, as in ``../shared/data/copiste``):
  one manifest per value of its writer-disjoint ``split`` column (``train.jsonl``,
  ``val.jsonl``); the reference number written at the top of each page (``kind`` ``id``)
  is dropped; its ``\"`` is read as the quote the writers wrote (and the ALTO holds); rows
  keep ``writer``, ``width`` and ``height`` (of the image).
- the source repository (ALTO v4 XML and 300-dpi JPEG pages anywhere below the folder,
  e.g. ``alto/`` and ``jpg/``; ``URL`` is an archive of it): the lines are cut from the
  pages into ``out/lines/`` and all go to ``all.jsonl``, minus the reference numbers.
  The repository does not say which writers are held out, so no split is made there.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import RecognizeError
from ..inputs.manifest import write_manifest
from ..inputs.text import normalize_text
from . import fetch
from .lines import cut_pages, relative, skip

URL = "https://github.com/banq-dcn/Copiste-d-un-jour/archive/HEAD.tar.gz"
COLUMNS = ("line_id", "path", "writer", "split", "kind", "width", "height", "text")
# The reference number at the top of a page ("imp_wikitexte_0022", "Nom de référence :
# imp_wikitexte_0183", "WIKITEXTE 0242"): exactly the lines.tsv rows of kind "id".
REFERENCE = re.compile(r"wikitexte", re.IGNORECASE)
PAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def read_release(folder: Path, out: Path) -> dict[str, list[dict]]:
    """Rows of ``lines.tsv`` by split, reference-number lines and missing images left out."""
    tsv = folder / "lines.tsv"
    splits = {}
    with open(tsv, newline="", encoding="utf-8") as f:
        # the release writes a quote as \" (the ALTO it came from has a plain one)
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise RecognizeError(f"{tsv}: missing columns {', '.join(missing)}")
        for row in reader:
            if None in row or None in row.values() or not (row["width"] + row["height"]).isdigit():
                raise RecognizeError(f"{tsv}:{reader.line_num}: expected {len(COLUMNS)} tab-separated columns")
            if row["kind"] == "id":
                continue
            image = folder / row["path"]
            if not image.is_file():
                skip(f"{row['line_id']}: {image} is missing")
                continue
            splits.setdefault(row["split"], []).append({
                "id": row["line_id"],
                "image": relative(image, out),
                "text": normalize_text(row["text"]),
                "writer": row["writer"],
                "width": int(row["width"]),
                "height": int(row["height"]),
            })
    return splits


def read_pages(folder: Path, out: Path) -> dict[str, list[dict]]:
    """Rows of the lines cut from every ALTO page below ``folder``, pages matched to
    their images by file stem."""
    xmls = sorted(folder.rglob("*.xml"))
    if not xmls:
        raise RecognizeError(f"{folder}: neither a line release (lines.tsv) nor ALTO pages (*.xml)")
    pages = {p.stem: p for p in folder.rglob("*") if p.suffix.lower() in PAGE_SUFFIXES}
    rows = cut_pages(xmls, out / "lines", out, {xml: pages[xml.stem] for xml in xmls if xml.stem in pages})
    return {"all": [row for row in rows if not REFERENCE.search(row["text"])]}


def prepare(source: str, out: str | Path) -> dict[str, Path]:
    """Write the manifests of either layout under ``out``; see the module docstring."""
    out = Path(out).resolve()
    folder = fetch(source, out / "download")
    manifests = read_release(folder, out) if (folder / "lines.tsv").is_file() else read_pages(folder, out)
    paths = {}
    for name, rows in manifests.items():
        if rows:
            paths[name] = out / f"{name}.jsonl"
            write_manifest(rows, paths[name])
    if not paths:
        raise RecognizeError(f"{folder}: no usable text lines")
    return paths
