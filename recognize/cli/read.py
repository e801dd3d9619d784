"""``recognize read``: handwriting, as line images or whole pages; bad files are reported and skipped."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import (add_decoder_options, decoder_from, emit, input_files, model_for, output_stem, progress_bar,
                     report_failures, shown_path, wrote)

FORMATS = ("txt", "json", "alto", "page", "hocr")
SUFFIXES = {"txt": "txt", "json": "json", "alto": "xml", "page": "xml", "hocr": "hocr"}


def add_read(sub) -> None:
    p = sub.add_parser("read", help="recognize handwriting: text-line images or whole pages",
                       description="Line images are read as they are; a page is first split into its text lines "
                                   "(found in reading order), each line read, and the lines joined.")
    p.add_argument("files", nargs="+", metavar="IMAGE",
                   help="line or page images (PNG, JPEG, TIFF, BMP, WebP, ...), or folders of them; PDFs; or "
                        "ALTO / PAGE XML files, whose lines are read from the page image beside each")
    add_decoder_options(p)
    p.add_argument("--layout", choices=("auto", "page", "line"), default="auto",
                   help="page: find the lines first; line: read each image as one line; auto (default): an image "
                        "at least 400 pixels high and less than 2.5 times as wide is a page, any other a line")
    p.add_argument("--format", choices=FORMATS, default="txt",
                   help="txt (a text line per found line), json (lines with box, polygon, baseline, confidence "
                        "and characters, in the image's pixels), alto (ALTO v4), page (PAGE XML) or hocr (hOCR, as "
                        "Tesseract and kraken write it); the last three place each word; default: txt")
    p.add_argument("--output-dir", metavar="DIR", help="write one IMAGE_STEM.txt/.json/.xml/.hocr per input here")
    p.add_argument("--skip-existing", action="store_true", help="with --output-dir: leave out images already done")
    p.set_defaults(func=run)


def run(args) -> int:
    return read_command(args.files, args.model, args.format, args.output_dir, args.device, args.threads,
                        decoder_from(args), args.layout, args.skip_existing, args.batch_size)


def read_command(files, model=None, fmt="txt", output_dir=None, device="cpu", threads=0, decoder="auto",
                 layout="auto", skip_existing=False, batch_size=16) -> int:
    """Read ``files`` (line or page images; a folder stands for its images); print to
    stdout or write ``output_dir/STEM.EXT`` atomically. Returns the exit status: 0 if
    every file was read, 1 otherwise."""
    from ..kinds import HANDWRITING

    files, failures, failed_early = input_files(files, HANDWRITING, output_dir, skip_existing, (SUFFIXES[fmt],),
                                                expand=pages_of)
    check_not_over_inputs(files, output_dir, SUFFIXES[fmt])
    recognizer = model_for(model, HANDWRITING, device, threads, decoder)
    bar = progress_bar(len(files), "file")

    def on_error(path, error):
        failures.append((path, str(error).removeprefix(f"{path}: ")))
        bar.write(f"error: {error}", file=sys.stderr)

    written = 0
    for path, result in read_files(recognizer, files, layout, batch_size, on_error, bar.update):
        if not isinstance(result, tuple) and not result.lines:  # nothing wrong with a blank page: say so
            bar.write(f"note: {path}: no text lines found on the page", file=sys.stderr)
        if isinstance(result, tuple) and fmt in ("alto", "page", "hocr"):
            result = page_of_line(path, *result, recognizer.alphabet)
        write(path, result, fmt, output_dir, len(files) > 1, bar, recognizer.alphabet)
        written += bool(output_dir)
    bar.close()
    wrote(written, fmt, output_dir)
    report_failures(failures, len(files) + failed_early)
    return 1 if failures else 0


def check_not_over_inputs(files, output_dir, suffix: str) -> None:
    """A :class:`RecognizeError` when an output would replace an input (an XML read into
    ALTO in its own folder): nothing a user gave is written over."""
    from ..errors import RecognizeError

    for path in files if output_dir else ():
        if not isinstance(path, str):
            continue
        target = Path(output_dir) / f"{output_stem(path)}.{suffix}"
        if target.exists() and target.resolve() == Path(path).resolve():
            raise RecognizeError(f"--output-dir {output_dir}: {target.name} there is an input; writing it would "
                                 "replace it: choose another folder")


def pages_of(path: str) -> list:
    """A PDF or a TIFF of several pages -> its pages; any other file -> itself (the
    documents module, and Pillow with it, load only when a command reads images)."""
    from ..inputs.documents import pages_of as pages

    return pages(path)


def read_files(recognizer, files, layout, batch_size, on_error, progress):
    """Yield ``(path, result)`` in input order: a :class:`~recognize.layout.page.Page` for
    each page image or page of a document (read one by one), ``(Hypothesis, width)`` for
    each line image (runs of them read in batches)."""
    from ..errors import RecognizeError
    from ..layout.page import reads_as_page

    run: list[str] = []

    def lines():
        for path, hyp, width in recognizer.transcribe_files(run, batch_size, on_error, progress):
            yield path, (hyp, width)
        run.clear()

    for path in files:
        try:
            page = reads_as_page(path, layout)
        except RecognizeError:
            page = False  # the line reader reports the file in its one line
        if not page:
            run.append(path)
            continue
        yield from lines()
        from ..runtime.pages import read_page  # the line finder (and scipy) load for pages only

        try:
            yield path, read_page(recognizer, path, batch_size)
        except RecognizeError as e:
            on_error(path, e)
        progress(1)
    yield from lines()


def image_size(path) -> tuple[int, int]:
    """(width, height) from the image's header, EXIF orientation applied."""
    from ..inputs.image import header_size

    return header_size(path)


def page_of_line(path, hyp, width, alphabet):
    """A line image's result as a page of one line covering the image."""
    from ..decoding.formats import characters
    from ..layout.page import Page, TextLine

    w, h = image_size(path)
    box = [(0.0, 0.0), (w - 1.0, 0.0), (w - 1.0, h - 1.0), (0.0, h - 1.0)]
    confidence = round(sum(t.prob for t in hyp.tokens) / len(hyp.tokens), 4) if hyp.tokens else None
    return Page(str(path), w, h, [TextLine(box, [], hyp.text, "line_0", confidence, characters(hyp, alphabet))])


def write(path, result, fmt: str, output_dir, several: bool, bar, alphabet) -> None:
    """One file's result (a Page, or a line's ``(Hypothesis, width)``): to
    ``output_dir/STEM.EXT``, else to stdout."""
    import json

    from ..atomic import atomic_write_text
    from ..decoding.formats import render
    from ..layout.hocr import to_hocr
    from ..layout.page_xml import to_alto, to_page_xml

    if isinstance(result, tuple):  # a line image: as `read` has always written lines
        text = render(result[0], fmt, source=path, extent=round(result[1], 3), alphabet=alphabet)
    else:
        text = {"txt": lambda: result.text + "\n",
                "json": lambda: json.dumps(result.to_dict(), ensure_ascii=False) + "\n",
                "alto": lambda: to_alto(result), "page": lambda: to_page_xml(result),
                "hocr": lambda: to_hocr(result)}[fmt]()
    if output_dir:
        atomic_write_text(Path(output_dir) / f"{output_stem(path)}.{SUFFIXES[fmt]}", text)
    elif fmt == "txt" and several and not isinstance(result, tuple):  # a page's lines under its name
        bar.write(f"{shown_path(path)}:\n{text}", end="", file=sys.stdout)
    else:
        emit(text, path, fmt, several, bar)
