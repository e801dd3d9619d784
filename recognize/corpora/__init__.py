"""Corpus preparation: a release (archive, folder or download URL) -> JSON Lines manifests.

Each corpus module has ``prepare(source, out) -> dict of manifest paths``; the
``recognize prepare CORPUS`` command calls it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import RecognizeError

CORPORA = ("an4", "copiste", "iam", "kaldi", "librispeech", "yesno")  # modules of this package, for `recognize prepare`


def fetch(source: str, workdir: Path) -> Path:
    """Return a local folder holding the release: ``source`` may be a folder, a .tar.gz
    archive or an http(s) URL of one (downloaded into ``workdir``)."""
    import shutil
    import urllib.request  # here, not above: every command's parser lists CORPORA

    if source.startswith(("http://", "https://")):
        archive = workdir / Path(source).name
        if not archive.exists():
            workdir.mkdir(parents=True, exist_ok=True)
            print(f"downloading {source}")
            try:
                with urllib.request.urlopen(source, timeout=60) as r, open(archive.with_suffix(".part"), "wb") as f:
                    shutil.copyfileobj(r, f)
            except OSError as e:
                raise RecognizeError(f"{source}: download failed ({e}); pass a local archive or folder") from None
            archive.with_suffix(".part").replace(archive)
        source = str(archive)
    path = Path(source)
    if path.is_dir():
        return path
    if not path.is_file():
        raise RecognizeError(f"{path}: no such archive or folder")
    target = workdir / "extracted"
    done = target / ".complete"
    if not done.exists():
        extract(path, target)
        done.touch()
    return target


def extract(archive: Path, target: Path) -> None:
    """Extract a tar archive; members that would land outside ``target`` (absolute paths,
    ``..``, links out) or are devices are refused by tarfile's ``data`` filter."""
    import tarfile

    target.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(archive)
    except (tarfile.TarError, OSError) as e:  # tarfile lists each compression it tried, over several lines
        why = ("not a tar archive (plain, gzip, bzip2 or xz)" if isinstance(e, tarfile.ReadError)
               else getattr(e, "strerror", None) or " ".join(str(e).split()))
        raise RecognizeError(f"{archive}: {why}") from None
    try:
        with tar:
            tar.extractall(target, filter="data")
    except tarfile.FilterError as e:
        raise RecognizeError(f"{archive}: refused to extract: {e}") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise RecognizeError(f"{archive}: not a readable tar archive ({e})") from None
