"""The journal of an evaluation in progress: one JSON line per finished file, so that an
interrupted ``recognize evaluate --report DIR`` can be run again and redo nothing.

The first line names what wrote it (model file, size, modification time, decoder; the
manifest); a journal written by anything else is not reused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fingerprint(recognizer) -> str:
    """Which model (file, size, modification time) and decoder produced a journal's lines."""
    path = Path(recognizer.path)
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{recognizer.decoder_name}"


def read_journal(journal: str | Path, header: dict) -> dict[str, tuple]:
    """Finished files of an interrupted run: ``{path: (text, extent, confidence)}``; empty when the
    journal is absent or was written by another model or manifest. A last line cut
    short by the interruption is ignored."""
    try:
        lines = Path(journal).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    done = {}
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if i == 0 and record != header:
            return {}
        if i > 0 and isinstance(record, dict) and {"path", "text", "extent", "confidence"} <= record.keys():
            done[record["path"]] = (record["text"], float(record["extent"]), record["confidence"])
    return done


def open_journal(journal: str | Path, header: dict, resumed: int):
    """The journal opened for appending; a new one (header line first) unless resuming."""
    journal = Path(journal)
    journal.parent.mkdir(parents=True, exist_ok=True)
    if resumed:
        print(f"resuming: {resumed} files already done in {journal}", file=sys.stderr)
        return journal.open("a", encoding="utf-8")
    log = journal.open("w", encoding="utf-8")
    log.write(json.dumps(header) + "\n")
    return log
