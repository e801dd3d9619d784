"""``recognize transcribe``: audio files in, text out; bad files are reported and skipped.

:func:`transcribe_command` reads line images too (``recognize read`` for them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .common import (FORMATS, add_decoder_options, decoder_from, emit, input_files, model_for, progress_bar,
                     report_failures, wrote)


def add_transcribe(sub) -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="audio files (WAV, FLAC, OGG, MP3, SPHERE, ...), or folders of them")
    add_decoder_options(p)
    p.add_argument("--format", choices=FORMATS + ("all",), default="txt",
                   help="output format (default: txt); all: every one of them, with --output-dir")
    p.add_argument("--output-dir", metavar="DIR",
                   help="write one FILE_STEM.FORMAT per input here instead of printing to stdout (where several "
                        "inputs' srt, vtt or tsv blocks come each under a ==> FILE <== line)")
    p.add_argument("--skip-existing", action="store_true", help="with --output-dir: leave out files already done")
    p.set_defaults(func=run, kind="speech")


def run(args) -> int:
    from ..kinds import kind_named

    return transcribe_command(args.files, args.model, args.format, args.output_dir, args.device, args.threads,
                              decoder_from(args), kind=kind_named(args.kind), skip_existing=args.skip_existing,
                              batch_size=args.batch_size)


def transcribe_command(files, model=None, fmt="txt", output_dir=None, device="cpu", threads=0, decoder="auto",
                       kind=None, skip_existing=False, batch_size=16) -> int:
    """Recognize ``files`` of ``kind`` (audio, or line images; a folder stands for its
    files of that kind); print to stdout or write ``output_dir/STEM.FMT`` (atomically, so
    an interrupted run leaves only finished files; with ``skip_existing`` a rerun does
    only the rest). ``fmt`` ``all`` writes every format of :data:`FORMATS`, as whisper's
    ``--output_format all`` does, and needs ``output_dir``.

    Returns the exit status: 0 if every file was recognized, 1 otherwise.
    """
    from ..atomic import atomic_write_text
    from ..decoding.formats import render
    from ..errors import RecognizeError
    from ..kinds import SPEECH

    kind = kind or SPEECH
    formats = FORMATS if fmt == "all" else (fmt,)
    if len(formats) > 1 and not output_dir:
        raise RecognizeError("--format all writes a file per format: give --output-dir DIR")
    files, failures, empty_folders = input_files(files, kind, output_dir, skip_existing, formats)
    recognizer = model_for(model, kind, device, threads, decoder)
    alphabet = recognizer.alphabet if kind.unit == "pixels" else None  # json lists line images' characters

    bar = progress_bar(len(files), "file")

    def on_error(path, error):
        failures.append((path, str(error).removeprefix(f"{path}: ")))
        bar.write(f"error: {error}", file=sys.stderr)

    written = 0
    for path, hyp, extent in recognizer.transcribe_files(files, batch_size, on_error, bar.update):
        for each in formats:
            text = render(hyp, each, source=path, extent=round(extent, 3), alphabet=alphabet)
            if output_dir:
                atomic_write_text(Path(output_dir) / f"{Path(path).stem}.{each}", text)
                written += 1
            else:
                emit(text, path, each, len(files) > 1, bar)
    bar.close()
    wrote(written, "/".join(formats), output_dir)
    report_failures(failures, len(files) + empty_folders)
    return 1 if failures else 0
