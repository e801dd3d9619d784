"""A Kaldi (or ESPnet) data directory -> a manifest, so a corpus that a Kaldi recipe
has prepared trains and evaluates here without preparing it again::

    DATADIR/wav.scp    <utt> <audio file>, or <utt> <command reading one file> |
    DATADIR/text       <utt> <transcript>              (optional: no text, no training)
    DATADIR/utt2spk    <utt> <speaker>                 (optional: the "speaker" field)
    DATADIR/spk2gender <speaker> <f|m>                 (optional: the "gender" field)
    DATADIR/utt2dur    <utt> <seconds>                 (optional: else read from the files)

The manifest is named after the folder (``data/train_nodev`` -> ``train_nodev.jsonl``).
A piped entry (``sph2pipe -f wav -p -c 1 a.sph |``, ``flac -c -d -s a.flac |``,
``sox a.wav -t wav - |``) is read from the one file it names: soundfile decodes SPHERE,
FLAC and WAV itself and the model's own resampling replaces sox's. Entries that do more
(another channel, a time range, an unknown program) are skipped with the line that
names them, as are missing or unreadable files; the rest are written. A ``segments``
file (utterances cut from longer recordings) is refused: rows here are whole files.

Relative paths resolve against the current folder, as in Kaldi, where they are
relative to the recipe's root: run from there.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from ..errors import RecognizeError
from ..manifest import write_manifest

URL = None  # no download: --source is a local data directory
PROGRAMS = {"sph2pipe", "flac", "sox", "ffmpeg", "cat"}  # whose output is simply the file they read
AUDIO = (".wav", ".flac", ".sph", ".nist", ".ogg", ".opus", ".mp3")
CHANGES_WHAT_IS_READ = {"sph2pipe": {"-t", "-s"}, "sox": {"trim", "remix", "channels", "speed", "tempo"},
                        "ffmpeg": {"-ss", "-t", "-to", "-af", "-filter:a", "-map_channel"}}


def read_table(path: Path, required: bool = False) -> list[tuple[int, str, str]]:
    """``(line number, key, rest)`` of each non-empty line of a Kaldi table file
    (``key value...``); ``[]`` if the file is absent and not ``required``."""
    if not path.is_file():
        if required:
            raise RecognizeError(f"{path.parent}: not a Kaldi data directory (no {path.name})")
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise RecognizeError(f"{path}: not UTF-8 text") from None
    table = []
    for number, line in enumerate(lines, 1):
        key, _, rest = line.strip().partition(" ")
        if key:
            table.append((number, key, rest.strip()))
    return table


def audio_file(entry: str) -> str:
    """The file a wav.scp entry reads: the entry itself, or the one audio file of its
    command. Raises :class:`ValueError` saying why the entry cannot be read as a file."""
    if not entry.endswith("|"):
        return entry
    try:
        words = shlex.split(entry[:-1])
    except ValueError as e:
        raise ValueError(f"cannot parse the command ({e})") from None
    program = os.path.basename(words[0]) if words else ""
    if program not in PROGRAMS:
        raise ValueError(f"reads the output of '{program}', not a file (only {', '.join(sorted(PROGRAMS))})")
    changes = CHANGES_WHAT_IS_READ.get(program, set()) & set(words)
    if program == "sph2pipe" and "-c" in words:  # channel 1 is what a mono file holds
        channel = (words[words.index("-c") + 1:] + ["?"])[0]
        if channel != "1":
            changes.add(f"-c {channel}")
    if changes:
        raise ValueError(f"'{program} {' '.join(sorted(changes))}' changes what is read (a channel or a part)")
    files = [w for w in words[1:] if w.lower().endswith(AUDIO)]
    if len(files) != 1:
        raise ValueError(f"names {len(files)} audio files, not one")
    return files[0]


def read_data_dir(folder: Path, out: Path) -> tuple[list[dict], list[str]]:
    """Rows of a Kaldi data directory (paths relative to ``out``) and one line per
    skipped utterance, naming the file, line and problem."""
    import soundfile as sf

    if (folder / "segments").is_file():
        raise RecognizeError(f"{folder / 'segments'}: utterances cut from longer recordings are not supported; "
                             "cut them into files first (e.g. Kaldi's extract-segments) and drop segments")
    scp = folder / "wav.scp"
    texts = {key: rest for _, key, rest in read_table(folder / "text")}
    has_text = (folder / "text").is_file()
    speakers = {key: rest for _, key, rest in read_table(folder / "utt2spk")}
    genders = {key: rest.lower() for _, key, rest in read_table(folder / "spk2gender")}
    durations = {key: rest for _, key, rest in read_table(folder / "utt2dur")}
    rows, skipped, seen = [], [], set()
    for number, utt, entry in read_table(scp, required=True):
        where = f"{scp}:{number}"
        if utt in seen:
            raise RecognizeError(f"{where}: duplicate utterance id '{utt}'")
        seen.add(utt)
        if has_text and utt not in texts:
            skipped.append(f"{where}: '{utt}' has no line in text")
            continue
        try:
            path = Path(audio_file(entry))
        except ValueError as e:
            skipped.append(f"{where}: {e}")
            continue
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            skipped.append(f"{where}: {path}: no such file (relative paths resolve against the current folder)")
            continue
        try:
            duration = float(durations[utt]) if utt in durations else sf.info(str(path)).duration
        except ValueError:
            skipped.append(f"{folder / 'utt2dur'}: '{utt}': not a number of seconds ({durations[utt]!r})")
            continue
        except Exception as e:  # soundfile reports every decoding problem the same way
            skipped.append(f"{where}: {path}: not a readable audio file ({str(e).split(':')[-1].strip()})")
            continue
        row = {"id": utt, "audio": os.path.relpath(path, out)}
        if has_text:
            row["text"] = texts[utt]
        row["duration"] = round(duration, 3)
        if utt in speakers:
            row["speaker"] = speakers[utt]
            if speakers[utt] in genders:
                row["gender"] = genders[speakers[utt]]
        rows.append(row)
    return rows, skipped


def prepare(source: str | None, out: str | Path) -> dict[str, Path]:
    if source is None:
        raise RecognizeError("kaldi: pass the data directory with --source (e.g. --source data/train)")
    folder, out = Path(source), Path(out).resolve()
    if not folder.is_dir():
        raise RecognizeError(f"{folder}: no such data directory")
    rows, skipped = read_data_dir(folder, out)
    for line in skipped[:5]:
        print(f"skipped {line}", file=sys.stderr)
    if len(skipped) > 5:
        print(f"... and {len(skipped) - 5} more skipped", file=sys.stderr)
    if not rows:
        raise RecognizeError(f"{folder}: no utterance could be read ({len(skipped)} skipped)")
    name = folder.resolve().name
    path = out / f"{name}.jsonl"
    write_manifest(rows, path)
    return {name: path}
