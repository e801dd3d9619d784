"""``recognize segment``: a page's lines found and written without reading them (kraken's
``segment``), for correcting in an editor before ``recognize read PAGE.xml`` reads them."""

from __future__ import annotations

import sys

from .common import input_files, progress_bar, report_failures, wrote
from .read import check_not_over_inputs, pages_of, write

FORMATS = ("alto", "page", "json")


def add_segment(sub) -> None:
    p = sub.add_parser("segment", help="find the text lines of page images, without reading them",
                       description="Each page's lines are found as `recognize read` finds them (polygon and "
                                   "baseline, in reading order) and written with no text: correct them in an "
                                   "editor such as eScriptorium, then `recognize read PAGE.xml` reads the lines "
                                   "given. Needs no model.")
    p.add_argument("files", nargs="+", metavar="IMAGE",
                   help="page images (PNG, JPEG, TIFF, ...), or folders of them; PDFs and multi-page TIFFs page "
                        "by page")
    p.add_argument("--format", choices=FORMATS, default="alto",
                   help="alto (ALTO v4, default), page (PAGE XML) or json (lines with box, polygon and baseline "
                        "in the image's pixels)")
    p.add_argument("--output-dir", metavar="DIR",
                   help="write one IMAGE_STEM.xml/.json per input here (beside the images, `recognize read` "
                        "finds each XML's image)")
    p.add_argument("--skip-existing", action="store_true", help="with --output-dir: leave out images already done")
    p.set_defaults(func=run)


def run(args) -> int:
    return segment_command(args.files, args.format, args.output_dir, args.skip_existing)


def segment_command(files, fmt="alto", output_dir=None, skip_existing=False) -> int:
    """Find the lines of each page in ``files``; print to stdout or write
    ``output_dir/STEM.EXT`` atomically. Returns the exit status: 0 if every page was
    segmented, 1 otherwise (the others are still written)."""
    from ..errors import RecognizeError
    from ..kinds import HANDWRITING
    from ..runtime.pages import segment_page

    suffix = "json" if fmt == "json" else "xml"
    files, failures, failed_early = input_files(files, HANDWRITING, output_dir, skip_existing, (suffix,),
                                                expand=pages_of)
    check_not_over_inputs(files, output_dir, suffix)
    bar = progress_bar(len(files), "page")
    written = 0
    for path in files:
        try:
            page = segment_page(path)
        except RecognizeError as e:
            failures.append((path, str(e).removeprefix(f"{path}: ")))
            bar.write(f"error: {e}", file=sys.stderr)
        else:
            if not page.lines:
                bar.write(f"note: {path}: no text lines found on the page", file=sys.stderr)
            write(path, page, fmt, output_dir, len(files) > 1, bar, alphabet=None)
            written += bool(output_dir)
        bar.update(1)
    bar.close()
    wrote(written, fmt, output_dir)
    report_failures(failures, len(files) + failed_early)
    return 1 if failures else 0
