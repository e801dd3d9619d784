"""JSON Lines manifests: one utterance (or text line) per line::

    {"id": "an251-fash-b", "audio": "wav/an251-fash-b.sph", "text": "YES", "duration": 1.2, ...}

Handwriting rows have ``"image"`` instead of ``"audio"``. Relative paths resolve against
the manifest's folder; NeMo's ``audio_filepath`` is accepted for ``audio``; extra fields
(speaker, writer, ...) are kept. No torch here: inference reads manifests too.
"""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import atomic_write_text
from .config import Config
from .errors import ManifestError
from .text import normalize_text


def read_manifest(path: str | Path, need_text: bool = True) -> list[dict]:
    """Rows of a JSON Lines manifest, with ``audio`` made absolute and ``text`` normalized.

    Raises :class:`ManifestError` naming the file and line for malformed JSON, a missing
    ``id``/``audio``/``text`` key or a duplicate id. Whether the audio exists is checked
    when it is loaded, so that batch commands can go on past a missing file.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ManifestError(f"{path}: cannot read manifest ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: manifest is not UTF-8 text") from None
    rows, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ManifestError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise ManifestError(f"{where}: expected a JSON object")
        if "audio" not in row and "audio_filepath" in row:
            row["audio"] = row.pop("audio_filepath")
        media = "image" if "image" in row else "audio"
        for key in ("id", media) + (("text",) if need_text else ()):
            if key not in row:
                raise ManifestError(f"{where}: missing key '{key}'" + (" (or 'image')" if key == "audio" else ""))
        if not isinstance(row[media], str):
            raise ManifestError(f"{where}: '{media}' must be a path string")
        row["id"] = str(row["id"])
        if row["id"] in seen:
            raise ManifestError(f"{where}: duplicate id '{row['id']}'")
        seen.add(row["id"])
        row[media] = str((path.parent / row[media]).resolve())
        if "text" in row:
            row["text"] = normalize_text(str(row["text"]))
        rows.append(row)
    return rows


def write_manifest(rows: list[dict], path: str | Path) -> None:
    """Write rows as JSON Lines atomically (temp file + rename)."""
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def duration_of(row: dict) -> float:
    """Seconds of audio in a row: its ``duration`` field, else the file header."""
    if "duration" in row:
        return float(row["duration"])
    import soundfile as sf

    return sf.info(row["audio"]).duration


def width_of(row: dict, height: int) -> float:
    """Width in pixels of a row's line image once scaled to ``height``: from its
    ``width``/``height`` fields, else the image header."""
    if "width" in row and "height" in row:
        w, h = float(row["width"]), float(row["height"])
    else:
        from PIL import Image

        with Image.open(row["image"]) as im:
            w, h = im.size
    return w * height / max(h, 1)


def length_of(row: dict, cfg: Config) -> float:
    """A row's length in the unit of its batch budget: seconds (speech) or pixels (handwriting)."""
    return duration_of(row) if cfg.kind == "speech" else width_of(row, cfg.image.height)
