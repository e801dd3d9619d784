"""Writing outputs safely: a regular file is written to a temp file in its folder and
renamed into place, so a crash or Ctrl-C never leaves a half-written file where a
finished one should be. What is not a regular file is never replaced: a symbolic link
has its target written (the link stays), and a device or pipe (``/dev/stdout``, a FIFO)
is written through. Every failure is a :class:`~recognize.errors.RecognizeError` of one
line naming the path (a read-only folder, a full disk, a folder where a file should be).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from .errors import RecognizeError


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result to ``path``; the temp file never
    survives. For a link, its target; for a device or pipe, ``write(path)`` itself."""
    path = Path(path)
    if path.is_symlink():  # keep the link: write what it points to
        path = Path(os.path.realpath(path))
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if path.is_dir():
            raise RecognizeError(f"{path}: is a folder; give a file name")
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):
            write(path)  # a device, FIFO or socket: through it, never replaced
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file where a folder should be
        blocking = next((p for p in path.parents if p.exists()), path.parent)
        raise RecognizeError(f"{blocking}: is a file, not a folder to write {path.name} in") from None
    except OSError as e:  # a read-only or full disk
        failed = e.filename if e.filename not in (None, str(tmp), tmp) else path
        raise RecognizeError(f"{failed}: cannot write ({e.strerror or type(e).__name__})") from None


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: _write_text(tmp, text))


def _write_text(path: Path, text: str) -> None:
    """Write and flush, so that a full disk is seen here and not lost at close."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()


@contextlib.contextmanager
def locked_folder(folder: str | Path):
    """Hold ``folder/.lock`` while writing into ``folder`` (created if needed): a second
    command writing there meanwhile gets a one-line :class:`RecognizeError`, not a mix of
    two runs' files. The lock goes with the process (an OS lock), so a killed run leaves
    none behind."""
    import fcntl

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "w")
    except (FileExistsError, NotADirectoryError):
        raise RecognizeError(f"{folder}: is a file, not a folder") from None
    except OSError as e:
        raise RecognizeError(f"{folder}: cannot write ({e.strerror or type(e).__name__})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RecognizeError(f"{folder}: another command is writing this folder; wait for it or choose another")
        yield folder
