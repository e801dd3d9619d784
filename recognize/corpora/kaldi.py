"""A Kaldi (or ESPnet) data directory -> a manifest, so a corpus that a Kaldi recipe
has prepared trains and evaluates here without preparing it again::

    DATADIR/wav.scp    <recording> <audio file>, or <recording> <command reading one file> |
    DATADIR/segments   <utt> <recording> <start> <end>  (optional: utterances cut from recordings)
    DATADIR/text       <utt> <transcript>               (optional: no text, no training)
    DATADIR/utt2spk    <utt> <speaker>                  (optional: the "speaker" field)
    DATADIR/spk2gender <speaker> <f|m>                  (optional: the "gender" field)
    DATADIR/utt2dur    <utt> <seconds>                  (optional: else read from the files)

The manifest is named after the folder (``data/train_nodev`` -> ``train_nodev.jsonl``).
Without ``segments`` each recording is an utterance. A piped entry (``sph2pipe -f wav
-p -c 1 a.sph |``, ``flac -c -d -s a.flac |``, ``sox a.wav -t wav - |``) is read from
the one file it names: soundfile decodes SPHERE, FLAC and WAV itself and the model's
own resampling replaces sox's. Entries that do more (another channel, a time range, an
unknown program) are skipped with the line that names them, as are missing or
unreadable files; the rest are written.

A manifest row is a whole file, so segments are cut out once, as ESPnet's
``format_wav_scp.sh`` does, into ``OUT/<folder name>/<utt>.flac`` (16-bit; a file an
earlier run wrote whole is kept).

Relative paths resolve against the current folder, as in Kaldi, where they are
relative to the recipe's root: run from there.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import NamedTuple

from ..atomic import atomic_write
from ..errors import RecognizeError
from ..inputs.audio import unreadable
from ..inputs.manifest import write_manifest

URL = None  # no download: --source is a local data directory
PROGRAMS = {"sph2pipe", "flac", "sox", "ffmpeg", "cat"}  # whose output is simply the file they read
AUDIO = (".wav", ".flac", ".sph", ".nist", ".ogg", ".opus", ".mp3")
CHANGES_WHAT_IS_READ = {"sph2pipe": {"-t", "-s"}, "sox": {"trim", "remix", "channels", "speed", "tempo"},
                        "ffmpeg": {"-ss", "-t", "-to", "-af", "-filter:a", "-map_channel"}}


class Recording(NamedTuple):
    where: str  # wav.scp:line
    path: Path | None  # the audio file, or None if it cannot be read
    problem: str = ""  # why not


class Utterance(NamedTuple):
    where: str  # the line that defines it (segments, else wav.scp)
    id: str
    recording: str
    start: float | None = None  # seconds, with segments
    end: float | None = None  # seconds; -1: the recording's end


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


def read_recordings(folder: Path) -> dict[str, Recording]:
    """wav.scp as ``{recording id: Recording}``, in its order."""
    scp = folder / "wav.scp"
    recordings = {}
    for number, key, entry in read_table(scp, required=True):
        where = f"{scp}:{number}"
        if key in recordings:
            raise RecognizeError(f"{where}: duplicate id '{key}'")
        try:
            path = Path(audio_file(entry))
        except ValueError as e:
            recordings[key] = Recording(where, None, str(e))
            continue
        path = path if path.is_absolute() else Path.cwd() / path
        recordings[key] = (Recording(where, path) if path.is_file() else
                           Recording(where, None, f"{path}: no such file (relative paths resolve against the "
                                                  "current folder)"))
    return recordings


def read_utterances(folder: Path, recordings: dict[str, Recording]) -> list[Utterance]:
    """The utterances of ``segments``, or one per recording without it."""
    segments = folder / "segments"
    if not segments.is_file():
        return [Utterance(r.where, key, key) for key, r in recordings.items()]
    utterances = []
    for number, utt, rest in read_table(segments):
        fields = rest.split()
        try:
            utterances.append(Utterance(f"{segments}:{number}", utt, fields[0], float(fields[1]), float(fields[2])))
        except (IndexError, ValueError):
            raise RecognizeError(f"{segments}:{number}: expected '<utt> <recording> <start> <end>'") from None
    return utterances


def read_durations(path: Path) -> dict[str, float]:
    """utt2dur as ``{utt: seconds}`` (``{}`` if absent)."""
    durations = {}
    for number, key, rest in read_table(path):
        try:
            durations[key] = float(rest)
        except ValueError:
            raise RecognizeError(f"{path}:{number}: not a number of seconds ({rest!r})") from None
    return durations


def cut(source: Path, start: float, end: float, target: Path) -> float:
    """Write seconds ``start`` to ``end`` (-1: the end) of ``source`` to ``target`` as
    16-bit FLAC (kept if an earlier run wrote it whole); returns its duration."""
    import soundfile as sf

    with sf.SoundFile(str(source)) as f:
        first, rate = round(start * f.samplerate), f.samplerate
        last = f.frames if end < 0 else min(round(end * f.samplerate), f.frames)
        if last <= first:
            raise ValueError(f"{start:g} to {end:g} s is empty in {source} ({f.frames / rate:g} s long)")
        if not (target.is_file() and sf.info(str(target)).frames == last - first):
            f.seek(first)
            samples = f.read(last - first, dtype="float32")
            atomic_write(target, lambda tmp: sf.write(str(tmp), samples, rate, format="FLAC", subtype="PCM_16"))
    return (last - first) / rate


def read_data_dir(folder: Path, out: Path) -> tuple[list[dict], list[str]]:
    """Rows of a Kaldi data directory (paths relative to ``out``) and one line per
    skipped utterance, naming the file, line and problem."""
    import soundfile as sf

    recordings = read_recordings(folder)
    texts = {key: rest for _, key, rest in read_table(folder / "text")}
    has_text = (folder / "text").is_file()
    speakers = {key: rest for _, key, rest in read_table(folder / "utt2spk")}
    genders = {key: rest.lower() for _, key, rest in read_table(folder / "spk2gender")}
    durations = read_durations(folder / "utt2dur")
    cuts = out / folder.resolve().name  # where segments are cut to
    rows, skipped, seen = [], [], set()
    for utt in read_utterances(folder, recordings):
        if utt.id in seen:
            raise RecognizeError(f"{utt.where}: duplicate utterance id '{utt.id}'")
        seen.add(utt.id)
        recording = recordings.get(utt.recording)
        try:
            if recording is None:
                raise ValueError(f"recording '{utt.recording}' is not in wav.scp")
            if recording.path is None:
                raise ValueError(f"its recording cannot be read ({recording.where}: {recording.problem})"
                                 if utt.start is not None else recording.problem)
            if has_text and utt.id not in texts:
                raise ValueError(f"'{utt.id}' has no line in text")
            if utt.start is not None:
                if os.sep in utt.id:
                    raise ValueError(f"'{utt.id}' cannot name a file")
                path = cuts / f"{utt.id}.flac"
                duration = cut(recording.path, utt.start, utt.end, path)
            elif utt.id in durations:
                path, duration = recording.path, durations[utt.id]
            else:
                path, duration = recording.path, sf.info(str(recording.path)).duration
        except ValueError as e:
            skipped.append(f"{utt.where}: {e}")
            continue
        except Exception as e:  # soundfile reports every decoding problem the same way
            skipped.append(f"{utt.where}: {unreadable(recording.path, e)}")
            continue
        row = {"id": utt.id, "audio": os.path.relpath(path, out)}
        if has_text:
            row["text"] = texts[utt.id]
        row["duration"] = round(duration, 3)
        if utt.id in speakers:
            row["speaker"] = speakers[utt.id]
            if speakers[utt.id] in genders:
                row["gender"] = genders[speakers[utt.id]]
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
