"""JSON Lines manifests: one utterance (or text line) per line::

    {"id": "an251-fash-b", "audio": "wav/an251-fash-b.sph", "text": "YES", "duration": 1.2, ...}

Handwriting rows have ``"image"`` instead of ``"audio"``. Relative paths resolve against
the manifest's folder; NeMo's ``audio_filepath`` is accepted for ``audio`` (its
``offset``, a segment of a longer file, is refused); extra fields (speaker, writer, ...)
are kept. No torch here: inference reads manifests too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic import atomic_write_text
from ..config import Config
from ..errors import ManifestError
from ..kinds import kind_named, kind_of_row
from .text import normalize_text

PAGE_XML = ("alto", "page")  # the keys of a page row's reference: {"id", "image": PAGE, "alto" | "page": XML}


def parse_row(line: str, path: Path, number: int, need_text: bool = True, folder: str = "") -> dict:
    """One manifest line as a row: ``audio``/``image`` made absolute (against ``folder``,
    the manifest's resolved folder), ``text`` normalized. :class:`ManifestError` names
    ``path:number`` when the line is malformed."""
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{where}: not valid JSON ({e.msg})") from None
    if not isinstance(row, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    if "audio" not in row and "audio_filepath" in row:
        row["audio"] = row.pop("audio_filepath")
    if "audio" in row and "image" in row:
        raise ManifestError(f"{where}: both 'audio' and 'image': a row is one recording or one image")
    media = kind_of_row(row).key
    layout = next((key for key in PAGE_XML if key in row), None)  # a page row: its lines' text is in the XML
    for key in ("id", media) + (("text",) if need_text and not layout else ()):
        if key not in row:
            raise ManifestError(f"{where}: missing key '{key}'" + (" (or 'image')" if key == "audio" else ""))
    if not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool) or row["id"] == "":
        raise ManifestError(f"{where}: 'id' must be a non-empty string or a whole number, not {json.dumps(row['id'])}")
    if "text" in row and not isinstance(row["text"], str):
        raise ManifestError(f"{where}: 'text' must be a string, not {json.dumps(row['text'])}")
    if row.get("offset"):  # NeMo's segment of a longer file: reading the whole file would pair it with wrong text
        raise ManifestError(f"{where}: 'offset' (a segment of a longer file) is not supported; cut the segment "
                            "into a file of its own")
    row["id"] = str(row["id"])
    for key in (media, layout) if layout else (media,):
        if not isinstance(row[key], str):
            raise ManifestError(f"{where}: '{key}' must be a path string")
        row[key] = os.path.normpath(os.path.join(folder or path.parent.resolve(), row[key]))
    if "text" in row:
        row["text"] = normalize_text(row["text"])
    return row


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
    rows, seen, folder = [], set(), str(path.parent.resolve())
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = parse_row(line, path, number, need_text, folder)
        if row["id"] in seen:
            raise ManifestError(f"{path}:{number}: duplicate id '{row['id']}'")
        seen.add(row["id"])
        rows.append(row)
    if not rows:
        raise ManifestError(f"{path}: no rows (an empty manifest has nothing to score or train on)")
    return rows


class LazyManifest:
    """The rows of a manifest too large to hold as Python objects (millions of lines),
    read from disk when asked for: a sequence of rows like :func:`read_manifest`'s list.

    Opening it checks every line once (ids' 64-bit hashes find duplicates) and keeps two
    numpy arrays: byte offsets and lengths (``duration``, or ``width`` scaled to ``height``
    for line images; NaN where the row has neither): 16 bytes a row. ``rows[i]`` reads
    line ``i`` again with ``os.pread``, so DataLoader worker processes share it safely.
    """

    def __init__(self, path: str | Path, height: int = 0):
        import hashlib

        import numpy as np

        self.path = Path(path)
        self.folder = str(self.path.parent.resolve())
        offsets, lengths, hashes = [], [], []
        try:
            f = open(self.path, "rb")
        except OSError as e:
            raise ManifestError(f"{self.path}: cannot read manifest ({e.strerror})") from None
        with f:
            position = 0
            for number, raw in enumerate(f, 1):
                start, position = position, position + len(raw)
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ManifestError(f"{self.path}:{number}: not UTF-8 text") from None
                if not line.strip():
                    continue
                row = parse_row(line, self.path, number, folder=self.folder)
                offsets.append(start)
                hashes.append(int.from_bytes(hashlib.blake2b(row["id"].encode(), digest_size=8).digest(), "little"))
                lengths.append(_stored_length(row, height))
        self._fd: tuple[int, int] | None = None  # (pid, descriptor), reopened in each worker process
        self.offsets = np.array(offsets + [position], dtype=np.int64)
        self.lengths = np.array(lengths, dtype=np.float64)
        hashes = np.array(hashes, dtype=np.uint64)
        ordered = np.sort(hashes)
        repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
        if len(repeated):
            second = int(np.flatnonzero(hashes == ordered[repeated[0]])[1])
            raise ManifestError(f"{self.path}: duplicate id '{self[second]['id']}'")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        if self._fd is None or self._fd[0] != os.getpid():
            self._fd = (os.getpid(), os.open(self.path, os.O_RDONLY))
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        line = os.pread(self._fd[1], end - start, start).decode("utf-8")
        return parse_row(line, self.path, index + 1, folder=self.folder)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getstate__(self):  # a worker process opens its own descriptor
        return {**self.__dict__, "_fd": None}


def _stored_length(row: dict, height: int) -> float:
    """A row's length from its own fields, without opening its file (NaN if it has none)."""
    if "duration" in row:
        return float(row["duration"])
    if "width" in row and "height" in row and height:
        return float(row["width"]) * height / max(float(row["height"]), 1)
    return float("nan")


def write_manifest(rows: list[dict], path: str | Path) -> None:
    """Write rows as JSON Lines atomically (temp file + rename)."""
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def page_rows(folder: str | Path) -> list[dict]:
    """Page rows for a folder of page images each beside its XML of the same name
    (``page.jpg`` + ``page.xml``, ALTO or PAGE): ``{"id", "image", "alto"}``, by name.
    :class:`ManifestError` for a folder without such pairs."""
    from ..kinds import HANDWRITING

    folder = Path(folder)
    rows = [{"id": image.stem, "image": str(image.resolve()), "alto": str(image.with_suffix(".xml").resolve())}
            for image in sorted(folder.iterdir())
            if image.suffix.lower() in HANDWRITING.suffixes and image.with_suffix(".xml").is_file()]
    if not rows:
        raise ManifestError(f"{folder}: a folder with no page image beside an XML file of the same name")
    return rows


def is_page_row(row: dict) -> bool:
    """A row whose reference is a page XML rather than a text."""
    return any(key in row for key in PAGE_XML)


def media_path(row: dict) -> str:
    """The file a row names: its ``audio``, else its ``image``."""
    return row.get("audio") or row["image"]


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
    return duration_of(row) if kind_named(cfg.kind).unit == "seconds" else width_of(row, cfg.image.height)


def lengths_of(rows: LazyManifest, cfg: Config):
    """``(len(rows),)`` float64 lengths (see :func:`length_of`), from the manifest's own
    fields where it has them, else from the files' headers."""
    import numpy as np

    lengths = rows.lengths.copy()
    unreadable = []
    for i in np.flatnonzero(np.isnan(lengths)):
        row = rows[int(i)]
        try:
            lengths[i] = length_of(row, cfg)
        except Exception as e:  # soundfile and Pillow each raise their own kinds
            media = media_path(row)
            why = "no such file" if not Path(media).exists() else " ".join(str(e).split()) or type(e).__name__
            unreadable.append(f"{row['id']!r} ({media}: {why})")
    if unreadable:
        raise ManifestError(f"{rows.path}: {len(unreadable)} of {len(rows)} rows name a file whose header cannot be "
                            f"read, the first {unreadable[0]}; fix or remove them")
    return lengths
