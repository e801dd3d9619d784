"""The ``recognize`` command. Each module here holds a few commands: a small function that
adds a command's arguments next to the one that runs it (printing, progress bars, exit
codes). Heavy imports happen inside the commands so that ``--help`` is instant; nothing
in the library imports this package.

Errors that are the user's (a missing file, a bad config key) print one line,
``error: <file or key>: <problem>``, and exit with status 1 (2 for usage errors);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import align, data, evaluate, models, read, segment, train, transcribe
from .common import count  # noqa: F401  (the argument type, for scripts that build on this parser)

COMMANDS = (  # in the order --help lists them
    transcribe.add_transcribe, read.add_read, segment.add_segment, evaluate.add_evaluate, align.add_align,
    evaluate.add_compare, train.add_runs, train.add_plot, train.add_train, data.add_shard, data.add_prepare,
    data.add_lines, data.add_degrade, models.add_release, train.add_average, models.add_export, data.add_lm,
    evaluate.add_tune, models.add_models,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recognize", description="Speech and handwriting recognition: features -> stacked BiLSTM -> CTC -> text.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"recognize {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def show_warnings_in_one_line() -> None:
    """The library's :class:`~recognize.errors.RecognizeWarning` as ``warning: ...`` on
    stderr, every time (each names its file); other warnings as Python shows them."""
    import warnings

    from ..errors import RecognizeWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, RecognizeWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", RecognizeWarning)


def version() -> str:
    from .. import __version__

    return __version__


def main(argv=None) -> int:
    from ..errors import RecognizeError

    show_warnings_in_one_line()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `recognize` alone: what it can do
        parser.print_help()
        sys.exit(0)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a full disk under stdout shows here, not at exit
    except RecognizeError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        code = 1
    except ModuleNotFoundError as e:
        if args.debug or e.name not in ("torch", "onnx", "scipy"):
            raise
        print(f"error: `recognize {args.command}` needs {e.name}: pip install 'recognize[torch]'", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # the reader went away (`recognize runs ... | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # or the exit's flush fails again
        code = 1
    except OSError as e:
        if args.debug or e.filename is not None:  # not stdout's: a bug to see whole
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"error: stdout: cannot write ({e.strerror or type(e).__name__})", file=sys.stderr)
        code = 1
    from ..distributed import end_process, from_env

    if from_env().distributed:
        end_process(code)
    sys.exit(code)
