"""Corpus preparation is safe with hostile archives and clear about bad sources."""

import io
import tarfile

import pytest
from conftest import SAMPLES

from recognize.corpora import extract, fetch
from recognize.errors import RecognizeError


def make_tar(path, name, data=b"x", link=None):
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("name, link", [("../escaped.txt", None), ("inside/link", "../../outside")])
def test_archives_cannot_write_outside_their_folder(tmp_path, name, link):
    archive = tmp_path / "evil.tar.gz"
    make_tar(archive, name, link=link)
    target = tmp_path / "target"
    with pytest.raises(RecognizeError, match="refused to extract"):
        extract(archive, target)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "outside").exists()


def test_absolute_member_paths_land_inside(tmp_path):
    archive = tmp_path / "abs.tar.gz"
    outside = tmp_path / "absolute-escape.txt"
    make_tar(archive, str(outside))
    extract(archive, tmp_path / "target")
    assert not outside.exists()
    assert (tmp_path / "target" / str(outside).lstrip("/")).exists()  # the leading / is stripped


def test_a_good_archive_extracts_once(tmp_path):
    archive = tmp_path / "good.tar.gz"
    make_tar(archive, "corpus/a.txt", b"hello")
    folder = fetch(str(archive), tmp_path / "work")
    assert (folder / "corpus" / "a.txt").read_bytes() == b"hello"
    (folder / "corpus" / "a.txt").unlink()
    assert fetch(str(archive), tmp_path / "work") == folder  # done before: not extracted again
    assert not (folder / "corpus" / "a.txt").exists()


def test_bad_sources_are_one_line(tmp_path):
    with pytest.raises(RecognizeError, match="no such archive or folder"):
        fetch(str(tmp_path / "missing.tar.gz"), tmp_path / "work")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(RecognizeError, match=r"junk.tar.gz: not a tar archive \(plain, gzip, bzip2 or xz\)$"):
        fetch(str(junk), tmp_path / "work")
    cut = tmp_path / "cut.tar.gz"  # a real archive whose download stopped half way
    with tarfile.open(cut, "w:gz") as tar:
        tar.add(SAMPLES / "cen8-mmtm-b.sph", "an4/cen8-mmtm-b.sph")
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with pytest.raises(RecognizeError, match=r"cut.tar.gz: not a readable tar archive \([^\n]+\)$"):
        fetch(str(cut), tmp_path / "work")
