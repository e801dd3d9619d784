"""What every reader checks before it opens a path: that it names a regular file. A FIFO
would block a batch forever, a device (``/dev/zero``) never end."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import RecognizeError

KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
         (stat.S_ISSOCK, "a socket"))


def check_regular(path: str | Path, error=RecognizeError) -> None:
    """Raise ``error`` (one line naming ``path``) unless it is a regular file (or a link
    to one): missing, a directory, a link loop, a FIFO, a device or a socket."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as e:
        why = "a symbolic link loop" if e.errno == 40 else (e.strerror or type(e).__name__).lower()
        raise error(f"{path}: {why}") from None
    if stat.S_ISDIR(mode):
        raise error(f"{path}: is a directory, not a file")
    for test, what in KINDS:
        if test(mode):
            raise error(f"{path}: not a regular file ({what})")
