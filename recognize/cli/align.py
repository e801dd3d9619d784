"""``recognize align``: known transcripts placed on their audio (word times) or line images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import FORMATS, add_model_options, emit, report_failures, wrote


def add_align(sub) -> None:
    p = sub.add_parser("align", help="place known transcripts on their audio (word times) or line images",
                       description="Forced alignment: the most likely CTC path that spells each row's text "
                                   "exactly gives its words' start and end (speech, up to a minute per file) or "
                                   "its characters' x-ranges (line images). Rows that cannot be aligned "
                                   "(unreadable file, characters outside the model's alphabet, a text too long "
                                   "for the input) are reported and the rest go on.")
    p.add_argument("manifest", metavar="MANIFEST", help='JSON Lines: {"id", "audio" or "image", "text"} per line')
    add_model_options(p)
    p.add_argument("--format", choices=FORMATS[1:], default="json",
                   help="json (one line per row, with its id), srt, vtt or tsv (speech; several rows' blocks "
                        "come each under a ==> ID <== line); default: json")
    p.add_argument("--output-dir", metavar="DIR", help="write one ID.FORMAT per row here instead of printing")
    p.set_defaults(func=run)


def run(args) -> int:
    return align_command(args.manifest, args.model, args.format, args.output_dir, args.device, args.threads,
                         args.batch_size)


def align_command(manifest, model=None, fmt="json", output_dir=None, device="cpu", threads=0, batch_size=16) -> int:
    """Align every row of ``manifest`` (its ``text`` on its audio or line image) with
    ``model``; print the results (json: one line per row) or write ``output_dir/ID.FMT``
    (atomically). Rows that fail are reported on stderr and the rest go on.

    Returns the exit status: 0 if every row was aligned, 1 otherwise.
    """
    from ..atomic import atomic_write_text
    from ..decoding.formats import render
    from ..errors import RecognizeError
    from ..inputs.manifest import media_path, read_manifest
    from ..kinds import kind_of_rows
    from ..runtime.align import align_rows
    from ..runtime.loading import load_model

    rows = read_manifest(manifest)
    kind = kind_of_rows(rows)
    recognizer = load_model(model, kind, device=device, threads=threads, decoder="greedy")
    if kind.unit != "seconds" and fmt in ("srt", "vtt"):
        raise RecognizeError(f"--format {fmt} is for speech (times); line images align to json or tsv (x in pixels)")
    if rows and recognizer.kind != kind:
        raise RecognizeError(f"{manifest}: a manifest of {kind.media}, but {recognizer.path} is a "
                             f"{recognizer.kind} model")
    alphabet = recognizer.alphabet if recognizer.kind.unit == "pixels" else None
    failures = []

    def on_error(row, reason):
        failures.append((f"{row['id']} ({media_path(row)})", reason))
        print(f"error: {row['id']} ({media_path(row)}): {reason}", file=sys.stderr)

    written = 0
    for row, hyp, extent in align_rows(recognizer, rows, batch_size, on_error):
        text = render(hyp, fmt, source=media_path(row), extent=round(extent, 3), alphabet=alphabet)
        if fmt == "json":  # the row it belongs to, first
            text = json.dumps({"id": row["id"], **json.loads(text)}, ensure_ascii=False) + "\n"
        if output_dir:
            atomic_write_text(Path(output_dir) / f"{row['id']}.{fmt}", text)
            written += 1
        else:
            emit(text, row["id"], fmt, len(rows) > 1)
    wrote(written, fmt, output_dir)
    report_failures(failures, len(rows))
    return 1 if failures else 0
