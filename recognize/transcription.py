"""``recognize transcribe`` and ``recognize read``: files in, text out; bad files are reported and skipped."""

from __future__ import annotations

import sys
from pathlib import Path

from .atomic import atomic_write_text
from .errors import RecognizeError
from .formats import render


# What a folder given as input stands for: the files in it (not below) with these suffixes.
FOLDER_SUFFIXES = {"speech": (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".sph", ".aif", ".aiff", ".au"),
                   "handwriting": (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")}


def expand_folders(paths, kind: str) -> tuple[list[str], list[tuple[str, str]]]:
    """``(files, failures)``: ``paths`` with each folder replaced by its files of ``kind``
    (sorted by name); a folder with none is a ``(folder, why)`` failure."""
    files, failures = [], []
    for path in map(str, paths):
        if not Path(path).is_dir():
            files.append(path)
            continue
        suffixes = FOLDER_SUFFIXES[kind]
        found = sorted(str(p) for p in Path(path).iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        files.extend(found)
        if not found:
            what = "audio" if kind == "speech" else "image"
            failures.append((path, f"a folder with no {what} files ({' '.join(suffixes)})"))
    return files, failures


def report_failures(failures: list[tuple[str, str]], total: int) -> None:
    """The closing list of files that could not be processed, on stderr."""
    if failures:
        print(f"{len(failures)} of {total} files failed:", file=sys.stderr)
        for path, reason in failures:
            print(f"  {path}: {reason}", file=sys.stderr)


def transcribe_command(files, model=None, fmt="txt", output_dir=None, device="cpu", threads=0, decoder="auto",
                       kind="speech", skip_existing=False, batch_size=16) -> int:
    """Recognize ``files`` (audio for ``kind="speech"``, line images for ``"handwriting"``;
    a folder stands for its files of that kind); print to stdout or write
    ``output_dir/STEM.FMT`` (atomically, so an interrupted run leaves only finished files;
    with ``skip_existing`` a rerun does only the rest).

    Returns the exit status: 0 if every file was recognized, 1 otherwise.
    """
    from tqdm import tqdm

    from .api import load_model

    files, failures = expand_folders(files, kind)
    for path, why in failures:
        print(f"error: {path}: {why}", file=sys.stderr)
    empty_folders = len(failures)
    stems = [Path(f).stem for f in files]
    if output_dir and len(set(stems)) < len(stems):
        raise RecognizeError("--output-dir: several input files share a name; their outputs would overwrite each other")
    if not output_dir and fmt in ("srt", "vtt", "tsv") and len(files) > 1:
        raise RecognizeError(f"--format {fmt} with several files needs --output-dir (one file per input)")
    if skip_existing:
        if not output_dir:
            raise RecognizeError("--skip-existing needs --output-dir")
        todo = [f for f in files if not (Path(output_dir) / f"{Path(f).stem}.{fmt}").exists()]
        if len(todo) < len(files):
            print(f"skipping {len(files) - len(todo)} files already in {output_dir}", file=sys.stderr)
        files = todo
    recognizer = load_model(model, device=device, threads=threads, decoder=decoder, kind=kind)
    if recognizer.kind != kind:
        command = "transcribe" if recognizer.kind == "speech" else "read"
        raise RecognizeError(f"{recognizer.path}: a {recognizer.kind} model; use `recognize {command}`")
    alphabet = recognizer.alphabet if kind == "handwriting" else None

    bar = tqdm(total=len(files), unit="file", disable=None, file=sys.stderr, leave=False)

    def on_error(path, error):
        failures.append((path, str(error).removeprefix(f"{path}: ")))
        bar.write(f"error: {error}", file=sys.stderr)

    for path, hyp, extent in recognizer.transcribe_files(files, batch_size, on_error, bar.update):
        text = render(hyp, fmt, source=path, extent=round(extent, 3), alphabet=alphabet)
        if output_dir:
            atomic_write_text(Path(output_dir) / f"{Path(path).stem}.{fmt}", text)
        elif fmt == "txt" and len(files) > 1:
            bar.write(f"{path}: {text}", end="", file=sys.stdout)
        else:
            bar.write(text, end="", file=sys.stdout)
    bar.close()
    report_failures(failures, len(files) + empty_folders)
    return 1 if failures else 0
