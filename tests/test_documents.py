"""Page scans in files of several pages: PDF (pypdfium2) and multi-page TIFF, read page by
page as `recognize read` reads page images."""

import json
import sys

import pytest
from conftest import SAMPLES, run_cli
from PIL import Image

from recognize.errors import ImageError
from recognize.evaluation.metrics import corpus_errors
from recognize.inputs.documents import DocumentPage, document_pages

PAGE = SAMPLES / "wikitexte_0063.jpg"


@pytest.fixture(scope="module")
def page_text() -> str:
    done = run_cli("read", PAGE, "--decoder", "greedy", "--threads", 1)
    assert done.returncode == 0, done.stderr
    return done.stdout


def scans(path, *pages):
    """A file of the given PIL pages (PDF or TIFF, by suffix), as a scanner writes it."""
    pages[0].save(path, save_all=True, append_images=list(pages[1:]))
    return path


@pytest.mark.parametrize("suffix", [".pdf", ".tif"])
def test_each_page_of_a_scanned_document_reads_as_its_scan(tmp_path, page_text, suffix):
    scan = Image.open(PAGE)
    document = scans(tmp_path / f"letters{suffix}", scan, scan.convert("L"))
    pages = document_pages(str(document))
    assert [str(p) for p in pages] == [f"{document}#page=1", f"{document}#page=2"]
    assert all(page.size() == scan.size for page in pages)  # the scan's own pixels, not a rendering
    done = run_cli("read", document, "--decoder", "greedy", "--threads", 1, "--output-dir", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["letters_p001.txt", "letters_p002.txt"]
    for name in ("letters_p001.txt", "letters_p002.txt"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert len(text.splitlines()) == len(page_text.splitlines())
        # pdfium's JPEG decoder differs from Pillow's by a grey level here and there: measured
        # 1.6 % and 0.7 % (PDF, colour and grey page), 0.9 % and 0 % (TIFF)
        assert corpus_errors([page_text], [text])["cer"] < 0.04


def test_a_document_page_in_python_and_in_json_is_named_by_its_page(tmp_path):
    from recognize import read

    document = scans(tmp_path / "letters.pdf", Image.open(PAGE))
    [page] = read([document], decoder="greedy")
    assert page["file"] == f"{document}#page=1" and "UGK est un groupe" in page["text"]
    done = run_cli("read", document, PAGE, "--decoder", "greedy", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["file"] for line in done.stdout.splitlines()] == [f"{document}#page=1", str(PAGE)]


def test_a_page_with_no_scan_on_it_is_rendered_at_300_dpi(tmp_path):
    import pypdfium2

    document = pypdfium2.PdfDocument.new()
    document.new_page(612, 792)  # US letter in points, nothing on it
    document.save(tmp_path / "blank.pdf")
    [page] = document_pages(str(tmp_path / "blank.pdf"))
    assert page.size() == (2550, 3300) and page.open(50_000_000).size == (2550, 3300)
    assert page.open(50_000_000, reduce_to=1_000_000).size[0] < 1200  # shrunk while rendered
    done = run_cli("read", tmp_path / "blank.pdf", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["lines"] == []
    assert done.stderr.strip() == f"note: {tmp_path / 'blank.pdf'}#page=1: no text lines found on the page"


def test_a_broken_pdf_is_one_line_and_the_other_files_are_read(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(scans(tmp_path / "whole.pdf", Image.open(PAGE)).read_bytes()[:3000])  # cut short
    done = run_cli("read", broken, PAGE, "--decoder", "greedy", "--threads", 1)
    assert done.returncode == 1 and "UGK est un groupe" in done.stdout and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {broken}: not a PDF that can be read (")
    assert "1 of 2 files failed" in done.stderr


def test_without_pypdfium2_a_pdf_says_what_to_install(tmp_path, monkeypatch):
    document = scans(tmp_path / "letters.pdf", Image.open(PAGE))
    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # as if it were not installed
    with pytest.raises(ImageError, match=r"letters.pdf: reading PDF files needs pypdfium2 \(pip install "
                                         r"'recognize\[pdf\]'\)"):
        document_pages(str(document))
    assert document_pages(str(PAGE)) is None  # images need nothing more


def test_a_one_page_tiff_is_an_image_and_a_page_beyond_the_last_is_an_error(tmp_path):
    single = scans(tmp_path / "single.tif", Image.open(PAGE))
    assert document_pages(str(single)) is None
    with pytest.raises(ImageError, match=r"single.tif#page=2: truncated or unreadable page"):
        DocumentPage(str(single), 1, 2).size()
