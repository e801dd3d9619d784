"""CMU AN4 ("census") from its ``an4_sphere`` release layout.

Release layout: ``an4/wav/an4_clstk/<speaker>/<utt>.sph`` (train) and
``an4/wav/an4test_clstk/...`` (test), ``an4/etc/an4_{train,test}.transcription`` with
lines ``<s> TEXT </s> (utt_id)`` and ``an4/etc/an4_{train,test}.fileids``.

Manifests: ``train.jsonl`` and ``dev.jsonl`` from the training part, split by speaker
(``DEV_SPEAKERS``, 7 of the 74), and ``test.jsonl`` when the release has its test part;
rows have ``speaker`` and ``gender`` fields, so reports break error rates down by both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import RecognizeError
from ..inputs.manifest import write_manifest
from . import fetch

URL = "http://www.speech.cs.cmu.edu/databases/an4/an4_sphere.tar.gz"
# Speaker-disjoint dev set carved from the training part: every 10th of the 74 speakers
# in sorted order, starting at the 6th: 2 female and 5 male (the corpus has 21 and 53),
# 91 of the 948 utterances.
DEV_SPEAKERS = ("fjam", "fplp", "mcen", "meht", "mjhp", "mmtm", "msjr")
LINE = re.compile(r"^\s*(?:<s>)?\s*(.*?)\s*(?:</s>)?\s*\(([^()]+)\)\s*$")


def find_root(folder: Path) -> Path:
    for candidate in (folder, folder / "an4"):
        if (candidate / "etc").is_dir() and (candidate / "wav").is_dir():
            return candidate
    raise RecognizeError(f"{folder}: not an AN4 release (no an4/etc and an4/wav folders)")


def read_part(root: Path, part: str, out: Path) -> list[dict]:
    """Rows of one part (``train`` or ``test``) of the release."""
    import soundfile as sf

    transcription = root / "etc" / f"an4_{part}.transcription"
    fileids = root / "etc" / f"an4_{part}.fileids"
    if not transcription.exists() or not fileids.exists():
        return []
    ids = fileids.read_text().split()
    lines = [l for l in transcription.read_text().splitlines() if l.strip()]
    if len(ids) != len(lines):
        raise RecognizeError(f"{transcription}: {len(lines)} lines but {len(ids)} file ids in {fileids.name}")
    rows = []
    for number, (fileid, line) in enumerate(zip(ids, lines), 1):
        match = LINE.match(line)
        if not match or match.group(2) != Path(fileid).name:
            raise RecognizeError(f"{transcription}:{number}: does not match file id {fileid}")
        audio, speaker = root / "wav" / f"{fileid}.sph", Path(fileid).parent.name
        if not audio.exists():
            raise RecognizeError(f"{audio}: listed in {fileids.name} but missing")
        rows.append({
            "id": match.group(2),
            "audio": os.path.relpath(audio, out),
            "text": match.group(1),
            "duration": round(sf.info(str(audio)).duration, 3),
            "speaker": speaker,
            **({"gender": speaker[0]} if speaker[0] in "fm" else {}),  # AN4's speaker ids start with f or m
        })
    return rows


def prepare(source: str, out: str | Path) -> dict[str, Path]:
    """Write ``train.jsonl``, ``dev.jsonl`` (and ``test.jsonl`` if present) under ``out``,
    and ``lexicon.txt``: the words of the release's pronouncing dictionary (``etc/an4.dic``),
    one per line, for the beam search's word list."""
    out = Path(out).resolve()
    root = find_root(fetch(source, out / "download"))
    train = read_part(root, "train", out)
    if not train:
        raise RecognizeError(f"{root}: no training part (etc/an4_train.transcription)")
    manifests = {
        "train": [r for r in train if r["speaker"] not in DEV_SPEAKERS],
        "dev": [r for r in train if r["speaker"] in DEV_SPEAKERS],
        "test": read_part(root, "test", out),
    }
    paths = {}
    for name, rows in manifests.items():
        if rows:
            paths[name] = out / f"{name}.jsonl"
            write_manifest(rows, paths[name])
    dictionary = root / "etc" / "an4.dic"
    if dictionary.exists():
        words = sorted({line.split()[0].split("(")[0] for line in dictionary.read_text().splitlines() if line.strip()})
        paths["lexicon"] = out / "lexicon.txt"
        atomic_write_text(paths["lexicon"], "".join(w + "\n" for w in words))
    return paths
