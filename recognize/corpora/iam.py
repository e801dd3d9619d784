"""The IAM Handwriting Database, text lines (Marti & Bunke 2002), with the split of its
"Large Writer Independent Text Line Recognition Task".

Release layout: ``ascii/lines.txt`` (from ``ascii.tgz``), ``lines/a01/a01-000u/
a01-000u-00.png`` (from ``lines.tgz``) and the task's split files ``trainset.txt``,
``validationset1.txt``, ``validationset2.txt``, ``testset.txt`` (line ids, one per
line; from ``largeWriterIndependentTextLineRecognitionTask.zip``, extracted anywhere
below the source folder). Manifests: ``train``, ``val1``, ``val2`` and ``test.jsonl``;
without the split files, all lines go to ``all.jsonl``.

IAM needs a free registration: downloads are refused without it. Register at
https://fki.tic.heia-fr.ch/register, download the three files into one folder and pass
it (or an archive of it) as ``--source``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import RecognizeError
from . import fetch
from .lines import from_iam_lines

URL = "https://fki.tic.heia-fr.ch/static/zip/largeWriterIndependentTextLineRecognitionTask.zip"
SPLITS = {"train": "trainset.txt", "val1": "validationset1.txt", "val2": "validationset2.txt", "test": "testset.txt"}


def prepare(source: str, out: str | Path) -> dict[str, Path]:
    from ..inputs.manifest import write_manifest

    out = Path(out).resolve()
    if source.startswith(("http://", "https://")):
        raise RecognizeError(f"{source}: IAM downloads need a registration (https://fki.tic.heia-fr.ch/register); "
                             "download ascii.tgz, lines.tgz and the task's split files and pass their folder")
    folder = fetch(source, out / "download")
    lines_txt = next(iter(sorted(folder.rglob("lines.txt"))), None)
    if lines_txt is None:
        raise RecognizeError(f"{folder}: not an IAM release (no ascii/lines.txt)")
    top = lines_txt.parent.parent if lines_txt.parent.name == "ascii" else lines_txt.parent
    rows = from_iam_lines(lines_txt, top, out / "all.jsonl")  # images in top/lines/a01/... or top/a01/...
    split_files = {name: next(iter(sorted(folder.rglob(f))), None) for name, f in SPLITS.items()}
    if not all(split_files.values()):
        return {"all": out / "all.jsonl"}
    (out / "all.jsonl").unlink()
    by_id = {r["id"]: r for r in rows}
    paths = {}
    for name, split in split_files.items():
        ids = split.read_text(encoding="utf-8").split()
        paths[name] = out / f"{name}.jsonl"
        write_manifest([by_id[i] for i in ids if i in by_id], paths[name])
    return paths
