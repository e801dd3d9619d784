"""What several commands share: argument types, model and decoder options, folders
given as inputs, and the closing list of failures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("txt", "json", "srt", "vtt", "tsv")
BEAM_FLAGS = {"lm": "--lm", "lexicon": "--lexicon", "unknown_penalty": "--unknown-penalty", "hotwords": "--hotword",
              "beam_size": "--beam-size", "alpha": "--alpha", "beta": "--beta", "nbest": "--nbest"}


def count(minimum: int = 1):
    """argparse type: a whole number of at least ``minimum`` (a one-line usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def add_model_options(p) -> None:
    p.add_argument("--model", help="a bundled model's name, an exported model (.onnx, runs on onnxruntime) or a "
                                   "checkpoint (.pt, runs on torch); default: the bundled model for the input: an4 "
                                   "(English speech in AN4's domain: spelled letters, numbers, dates) or copiste "
                                   "(French handwriting); `recognize models` says what each is for")
    p.add_argument("--device", default="cpu", help="checkpoints: cpu, cuda, cuda:N or auto (default: cpu)")
    p.add_argument("--threads", type=count(0), default=0,
                   help="CPU threads (onnxruntime intra-op, or torch; default: the runtime's choice)")
    p.add_argument("--batch-size", type=count(), default=16, metavar="N",
                   help="inputs per forward pass (default: 16); an fp32 model gives the same output whatever N, "
                        "an int8 one moves slightly with it")


def add_decoder_options(p) -> None:
    """The model options, ``--decoder`` and the beam search's options."""
    add_model_options(p)
    p.add_argument("--decoder", choices=["greedy", "beam"],
                   help="greedy (fastest) or beam: prefix beam search (default: the beam search in the model's "
                        ".decoding.json, written by `recognize tune`, else greedy)")
    beam = p.add_argument_group("beam search", "Each option given changes the model's tuned beam search (and "
                                "implies --decoder beam); with --lm, none of the tuned settings are kept "
                                "(they were tuned for the model's own LM).")
    beam.add_argument("--beam-size", type=count(), help="prefixes kept per frame (default: the model's tuned "
                      "value, else 16)")
    beam.add_argument("--lm", metavar="LM", help="n-gram language model: ARPA (.gz too; `recognize lm build`) "
                      "or KenLM binary (needs `pip install kenlm`)")
    beam.add_argument("--alpha", type=float, help="LM weight (default: the model's tuned value, else 0.5)")
    beam.add_argument("--beta", type=float, help="bonus per word (word LM) or character (character LM) "
                      "(default: the model's tuned value, else 0)")
    beam.add_argument("--lexicon", metavar="WORDS.txt", help="only these words (first field per line; CMU dict works)")
    beam.add_argument("--unknown-penalty", type=float, metavar="COST",
                      help="with --lexicon: other words are allowed too, each part of one outside the list costing "
                           "this (natural log; split at apostrophes and hyphens, case folded, numbers free)")
    beam.add_argument("--hotword", action="append", default=[], metavar="WORDS[:WEIGHT]",
                      help="boost a word or phrase (weight in log units, default 5; repeatable)")
    beam.add_argument("--nbest", type=count(), help="alternatives kept in --format json (default: 1)")


def decoder_from(args):
    """The decoder spec (:mod:`recognize.decoding.spec`) that ``--decoder`` and the beam flags describe."""
    from ..decoding.beam import parse_hotwords
    from ..decoding.spec import decoder_spec

    options = {name: getattr(args, name) for name in BEAM_FLAGS if name != "hotwords"}
    options["hotwords"] = parse_hotwords(args.hotword) if args.hotword else None
    return decoder_spec(args.decoder, BEAM_FLAGS, **options)


def expand_folders(paths, kind) -> tuple[list[str], list[tuple[str, str]]]:
    """``(files, failures)``: ``paths`` with each folder replaced by its files of ``kind``
    (sorted by name); a folder with none is a ``(folder, why)`` failure."""
    files, failures = [], []
    for path in map(str, paths):
        if not Path(path).is_dir():
            files.append(path)
            continue
        found = sorted(str(p) for p in Path(path).iterdir() if p.is_file() and p.suffix.lower() in kind.suffixes)
        files.extend(found)
        if not found:
            failures.append((path, f"a folder with no {kind.key} files ({' '.join(kind.suffixes)})"))
    return files, failures


def report_failures(failures: list[tuple[str, str]], total: int) -> None:
    """The closing list of files that could not be processed, on stderr."""
    if failures:
        print(f"{len(failures)} of {total} files failed:", file=sys.stderr)
        for path, reason in failures:
            print(f"  {path}: {reason}", file=sys.stderr)


def check_output_names(files: list[str], output_dir) -> None:
    """With ``output_dir``, a :class:`RecognizeError` naming the inputs whose outputs would
    overwrite each other (one file per stem)."""
    from ..errors import RecognizeError

    if not output_dir:
        return
    by_stem: dict[str, list[str]] = {}
    for f in files:
        by_stem.setdefault(output_stem(f), []).append(str(f))
    clashes = [paths for paths in by_stem.values() if len(paths) > 1]
    if clashes:
        named = "; ".join(" and ".join(paths) for paths in clashes[:3]) + (" ..." if len(clashes) > 3 else "")
        raise RecognizeError(f"--output-dir: several input files share a name, so their outputs would overwrite "
                             f"each other: {named}")


def output_stem(item) -> str:
    """The name an input's outputs take: a file's stem, or a document page's (``scan_p002``)."""
    return getattr(item, "stem", None) or Path(item).stem


def emit(text: str, path: str, fmt: str, several: bool, bar=None) -> None:
    """One input's output on stdout (above ``bar``, a progress bar, when there is one):
    ``FILE: TEXT`` for txt from several inputs, a ``==> FILE <==`` header before other
    formats' blocks (as ``tail`` heads several files), the output alone for one input or a
    JSON line."""
    path = shown_path(path)
    if several and fmt == "txt":
        text = f"{path}: {text}"
    elif several and fmt != "json":
        text = f"==> {path} <==\n{text}\n"
    if bar is None:
        sys.stdout.write(text)
    else:
        bar.write(text, end="", file=sys.stdout)


def progress_bar(total: int, unit: str, shown: bool = True):
    """A tqdm bar counting ``total`` of ``unit`` on stderr where stderr is a terminal (tqdm's own
    rule), else :class:`SilentBar`: tqdm's import, a tenth of a short command's start-up,
    is paid only where a bar is drawn."""
    if not (shown and sys.stderr.isatty()):
        return SilentBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, leave=False)


class SilentBar:
    """What a command asks of a progress bar, drawing none: lines written go straight out."""

    def update(self, n: int = 1) -> None:
        pass

    def write(self, text: str, file=None, end: str = "\n") -> None:
        (file or sys.stdout).write(text + end)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def shown_path(path) -> str:
    """A file name as one line of output: line breaks and tabs in it escaped as ``\\n``."""
    return str(path).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def wrote(count: int, fmt: str, output_dir) -> None:
    """The closing line of a run that wrote its outputs to files (``fmt`` may name
    several formats, as ``txt/json``)."""
    if output_dir and count:
        print(f"wrote {count} {fmt} file{'s' if count != 1 else ''} to {output_dir}", file=sys.stderr)


def input_files(paths, kind, output_dir, skip_existing: bool, suffixes: tuple[str, ...],
                expand=None) -> tuple[list, list, int]:
    """``(inputs, failures, how many failed already)`` of a batch command: folders
    expanded (an empty one reported at once), then each file by ``expand`` (a file -> its
    inputs, as a PDF -> its pages; a :class:`~recognize.errors.RecognizeError` is the
    file's failure), names that would overwrite each other refused, and with
    ``skip_existing`` the inputs whose ``output_dir/STEM.SUFFIX`` exists for every suffix
    left out."""
    from ..errors import RecognizeError

    files, failures = expand_folders(paths, kind)
    for path, why in failures:
        print(f"error: {path}: {why}", file=sys.stderr)
    if expand:
        files = [item for f in files for item in expand_one(f, expand, failures)]
    check_output_names(files, output_dir)
    if skip_existing:
        if not output_dir:
            raise RecognizeError("--skip-existing needs --output-dir")
        todo = [f for f in files if not all((Path(output_dir) / f"{output_stem(f)}.{s}").exists() for s in suffixes)]
        if len(todo) < len(files):
            print(f"skipping {len(files) - len(todo)} files already in {output_dir}", file=sys.stderr)
        files = todo
    return files, failures, len(failures)


def expand_one(path: str, expand, failures: list) -> list:
    """``expand(path)``, or nothing when it raises: then the reason is printed and kept."""
    from ..errors import RecognizeError

    try:
        return expand(path)
    except RecognizeError as e:
        print(f"error: {e}", file=sys.stderr)
        failures.append((path, str(e).removeprefix(f"{path}: ")))
        return []


def model_for(model, kind, device, threads, decoder):
    """The recognizer a command of ``kind`` runs; a one-line error for a model of the other kind."""
    from ..errors import RecognizeError
    from ..runtime.loading import load_model

    recognizer = load_model(model, kind, device=device, threads=threads, decoder=decoder)
    if recognizer.kind != kind:
        raise RecognizeError(f"{recognizer.path}: a {recognizer.kind} model; "
                             f"use `recognize {recognizer.kind.command}`")
    return recognizer
