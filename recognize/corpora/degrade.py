"""Copies of a speech manifest as other channels would carry it (``recognize degrade``):
resampled to another rate (8000 Hz: the telephone band), coloured noise at a given SNR,
silence before and after. Robustness dev sets are built from a dev set this way.

Each copy is a 16-bit WAV under ``<manifest stem>/`` beside the new manifest, named by its
row's id; noise is drawn from a generator seeded by (seed, row number), so a copy is
built again the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..errors import RecognizeError
from ..inputs.audio import load_audio
from ..inputs.manifest import media_path, read_manifest, write_manifest
from ..training.augment import add_noise
from .lines import relative, skip


def degrade(manifest: str | Path, out_manifest: str | Path, sample_rate: int = 16000, snr_db: float | None = None,
            noise: str = "white", pad_seconds: float = 0.0, seed: int = 0) -> list[dict]:
    """Write the copies of ``manifest``'s recordings at ``sample_rate`` Hz, with ``noise``
    ``snr_db`` below each recording's mean power (None: none) over the whole copy, and
    ``pad_seconds`` of digital silence before and after; return the new manifest's rows
    (``id``, ``audio``, ``text``, ``duration``). A recording that cannot be read is
    reported and skipped."""
    out_manifest = Path(out_manifest)
    folder = out_manifest.with_suffix("")
    rows = []
    for number, row in enumerate(read_manifest(manifest)):
        try:
            wave = load_audio(media_path(row), sample_rate)
        except RecognizeError as e:
            skip(str(e))
            continue
        power = float(np.mean(wave.astype(np.float64) ** 2))  # the recording's own, before the silence
        pad = np.zeros(round(pad_seconds * sample_rate), np.float32)
        wave = np.concatenate([pad, wave, pad])
        if snr_db is not None:
            wave = add_noise(wave, snr_db, noise, np.random.default_rng([seed, number]), power)
        path = folder / f"{row['id'].replace('/', '_')}.wav"
        write_wav(path, wave, sample_rate)
        rows.append({"id": row["id"], "audio": relative(path, out_manifest.parent), "text": row.get("text", ""),
                     "duration": round(len(wave) / sample_rate, 3)})
    if not rows:
        raise RecognizeError(f"{manifest}: no recording could be read")
    write_manifest(rows, out_manifest)
    return rows


def write_wav(path: Path, wave: np.ndarray, sample_rate: int) -> None:
    """``(samples,)`` float32 as a 16-bit PCM WAV, clipped to [-1, 1], written atomically."""
    import soundfile as sf

    clipped = np.clip(wave, -1.0, 1.0)
    atomic_write(path, lambda tmp: sf.write(tmp, clipped, sample_rate, subtype="PCM_16", format="WAV"))
