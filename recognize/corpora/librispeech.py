"""LibriSpeech (OpenSLR resource 12): read English audiobooks, 16 kHz FLAC.

Release layout (each part its own archive, all extracting into ``LibriSpeech/``)::

    LibriSpeech/<part>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac
    LibriSpeech/<part>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt   ("<utt id> TEXT" lines)

Manifests: one per part found, named after it (``train-clean-100.jsonl``,
``dev-clean.jsonl``, ...), with ``speaker`` and ``chapter`` fields. The source is a
folder holding ``LibriSpeech/`` (or that folder itself), one part's archive, or nothing:
then :data:`DEFAULT_PARTS` are downloaded from OpenSLR.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RecognizeError
from ..inputs.manifest import write_manifest
from . import fetch

BASE = "https://www.openslr.org/resources/12/"
PARTS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other", "test-clean", "test-other")
DEFAULT_PARTS = ("train-clean-100", "dev-clean", "dev-other", "test-clean", "test-other")
URL = BASE  # `recognize prepare librispeech` without --source: the default parts from here


def find_parts(folder: Path) -> dict[str, Path]:
    """``{part: folder}`` for every LibriSpeech part below ``folder``."""
    for root in (folder / "LibriSpeech", folder):
        found = {p: root / p for p in PARTS if (root / p).is_dir()}
        if found:
            return found
    raise RecognizeError(f"{folder}: no LibriSpeech part (LibriSpeech/train-clean-100, dev-clean, ...)")


def read_part(folder: Path, out: Path) -> list[dict]:
    """Rows of one part, sorted by id; a transcript line whose FLAC is missing is an error."""
    import soundfile as sf

    rows = []
    for trans in sorted(folder.glob("*/*/*.trans.txt")):
        for number, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            utt, _, text = line.partition(" ")
            audio = trans.parent / f"{utt}.flac"
            if not audio.is_file():
                raise RecognizeError(f"{trans}:{number}: {audio.name} is missing")
            speaker, chapter, _ = utt.split("-")
            rows.append({"id": utt, "audio": os.path.relpath(audio, out), "text": text.strip(),
                         "duration": round(sf.info(str(audio)).duration, 3), "speaker": speaker, "chapter": chapter})
    if not rows:
        raise RecognizeError(f"{folder}: no transcripts (<speaker>/<chapter>/*.trans.txt)")
    return rows


def prepare(source: str, out: str | Path) -> dict[str, Path]:
    out = Path(out).resolve()
    if source == URL:
        folders = [fetch(f"{BASE}{part}.tar.gz", out / "download" / part) for part in DEFAULT_PARTS]
        parts = {p: f for folder in folders for p, f in find_parts(folder).items()}
    else:
        parts = find_parts(fetch(source, out / "download"))
    paths = {}
    for part, folder in parts.items():
        paths[part] = out / f"{part}.jsonl"
        write_manifest(read_part(folder, out), paths[part])
    return paths
