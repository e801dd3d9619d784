"""The Kaldi "yesno" corpus (OpenSLR resource 1): 60 WAV files at 8 kHz, one speaker,
eight words each; the file name is the transcript (``1_0_0_1_...wav``: 1 = YES, 0 = NO).

As in Kaldi's recipe, the sorted files split in halves: ``train.jsonl`` (first 30)
and ``dev.jsonl`` (last 30).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RecognizeError
from ..inputs.manifest import write_manifest
from . import fetch

URL = "https://www.openslr.org/resources/1/waves_yesno.tar.gz"
WORDS = {"1": "YES", "0": "NO"}


def prepare(source: str, out: str | Path) -> dict[str, Path]:
    import soundfile as sf

    out = Path(out).resolve()
    folder = fetch(source, out / "download")
    waves = sorted(folder.glob("**/*.wav"))
    rows = []
    for wav in waves:
        labels = wav.stem.split("_")
        if not labels or any(l not in WORDS for l in labels):
            continue  # not a yesno recording
        rows.append({
            "id": wav.stem,
            "audio": os.path.relpath(wav, out),
            "text": " ".join(WORDS[l] for l in labels),
            "duration": round(sf.info(str(wav)).duration, 3),
        })
    if len(rows) < 2:
        raise RecognizeError(f"{folder}: no yesno recordings (files named like 0_1_1_0_1_0_0_1.wav)")
    half = len(rows) // 2
    paths = {"train": out / "train.jsonl", "dev": out / "dev.jsonl"}
    write_manifest(rows[:half], paths["train"])
    write_manifest(rows[half:], paths["dev"])
    return paths
