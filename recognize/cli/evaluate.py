"""``recognize evaluate``, ``compare`` and ``tune``: scores of a model on a manifest,
two reports side by side, and the beam search's weights chosen on a dev set."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .common import add_decoder_options, count, decoder_from, progress_bar, report_failures

JOURNAL = "progress.jsonl"  # in the --report folder while an evaluation runs


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="WER/CER of a model on a JSON Lines manifest")
    p.add_argument("manifest", metavar="MANIFEST",
                   help='JSON Lines: {"id", "audio" or "image", "text"} per line, or pages: {"id", "image", '
                        '"alto" or "page"} per line; or a folder of page images each beside its ALTO/PAGE XML')
    add_decoder_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--report", metavar="DIR",
                   help="write DIR/summary.json, utterances.jsonl and .csv, confusions.json, breakdowns.json, "
                        "ref.trn and hyp.trn (for sclite) and report.html; an interrupted run given the same DIR "
                        "resumes")
    p.add_argument("--unicode", choices=("nfc", "nfkc"), default="nfc",
                   help="Unicode normalization before scoring (default: nfc)")
    p.add_argument("--lowercase", action="store_true", help="fold case before scoring")
    p.add_argument("--remove-punctuation", action="store_true", help="drop punctuation before scoring")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args) -> int:
    from ..inputs.text import Scoring

    scoring = Scoring(args.unicode.upper(), args.lowercase, args.remove_punctuation)
    return evaluate_command(args.manifest, args.model, args.json, args.report, args.device, args.threads,
                            decoder_from(args), scoring, args.batch_size)


def format_table(summary: dict) -> str:
    """An sclite-style summary table."""
    c = summary["chars"]
    speech = "rtfx" in summary
    lines = [
        f"{summary['manifest']}: {summary['n']} " + (f"utterances, {summary['audio_seconds']:.1f} s of audio"
                                                     if speech else "lines")
        + (f", {summary['failed']} failed" if summary["failed"] else ""),
        f"{'':6} {'ref':>7} {'sub':>6} {'del':>6} {'ins':>6} {'err':>6} {'rate':>8}",
        f"{'words':6} {summary['reference_words']:7d} {summary['substitutions']:6d} {summary['deletions']:6d} "
        f"{summary['insertions']:6d} {summary['substitutions'] + summary['deletions'] + summary['insertions']:6d} "
        f"{100 * summary['wer']:7.2f}%",
        f"{'chars':6} {c['reference_chars']:7d} {c['substitutions']:6d} {c['deletions']:6d} "
        f"{c['insertions']:6d} {c['substitutions'] + c['deletions'] + c['insertions']:6d} {100 * summary['cer']:7.2f}%",
        f"WER {100 * summary['wer']:.2f} %, CER {100 * summary['cer']:.2f} %, "
        + (f"{summary['rtfx']}x real time" if speech else f"{summary['lines_per_second']} lines/s")
        + f" ({summary['wall_seconds']:.1f} s)",
    ]
    return "\n".join(lines)


def evaluate_command(manifest, model=None, as_json=False, report=None, device="cpu", threads=0, decoder="auto",
                     scoring=None, batch_size: int = 16) -> int:
    """Score ``model`` on ``manifest``: print the table (or JSON) and write the ``report``
    folder, which no other command may write meanwhile (rank 0 holds its lock under
    torchrun); under torchrun each process reads its share. Returns the exit status."""
    import contextlib

    from ..atomic import locked_folder
    from ..distributed import from_env

    lock = locked_folder(report) if report and from_env().main else contextlib.nullcontext()
    with lock:
        return run_evaluation(manifest, model, as_json, report, device, threads, decoder, scoring, batch_size)


def run_evaluation(manifest, model, as_json, report, device, threads, decoder, scoring, batch_size) -> int:
    """:func:`evaluate_command`'s work, with the report folder held."""
    from .. import __version__, distributed
    from ..evaluation.evaluate import evaluate_manifest
    from ..evaluation.report import write_report
    from ..inputs.manifest import is_page_row, page_rows, read_manifest
    from ..inputs.text import Scoring
    from ..kinds import kind_of_rows
    from ..runtime.loading import load_model

    if Path(manifest).is_dir():
        return evaluate_pages_command(manifest, page_rows(manifest), model, as_json, report, threads, decoder,
                                      scoring, batch_size)
    rows = read_manifest(manifest)
    if rows and is_page_row(rows[0]):
        return evaluate_pages_command(manifest, rows, model, as_json, report, threads, decoder, scoring, batch_size)
    proc = distributed.from_env()
    if proc.distributed:  # under torchrun: join the job, each process on its own device
        proc, device = distributed.start(device)
        device = str(device)
    try:
        recognizer = load_model(model, kind_of_rows(rows), device=device, threads=threads, decoder=decoder)
        journal = Path(report) / (JOURNAL if proc.main else f"progress.rank{proc.rank}.jsonl") if report else None
        with progress_bar(len(distributed.shard(rows, proc)), "file", shown=proc.main) as bar:
            result = evaluate_manifest(recognizer, manifest, progress=bar.update, rows=rows, journal=journal,
                                       batch_size=batch_size, scoring=scoring or Scoring(), proc=proc)
    finally:
        distributed.stop()
    if result is None:  # another rank than 0: rank 0 reports
        if journal:
            journal.unlink(missing_ok=True)
        return 0
    summary = {**result["summary"], "model": str(recognizer.path), "decoder": recognizer.decoder_name,
               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "version": __version__}
    if report:
        write_report(report, summary, result["utterances"], result["failures"], recognizer)
        journal.unlink()  # the report is whole: nothing left to resume
    print(json.dumps(summary) if as_json else format_table(summary))
    report_failures(result["failures"], summary["n"] + summary["failed"])
    return 1 if result["failures"] else 0


def evaluate_pages_command(manifest, rows, model, as_json, report, threads, decoder, scoring, batch_size) -> int:
    """``recognize evaluate`` of page rows: page CER/WER with lines matched by position, and
    line detection precision and recall (:mod:`recognize.evaluation.pages`)."""
    from .. import __version__
    from ..evaluation.pages import evaluate_pages
    from ..evaluation.report import write_report
    from ..inputs.text import Scoring
    from ..kinds import HANDWRITING
    from ..runtime.loading import load_model

    recognizer = load_model(model, HANDWRITING, threads=threads, decoder=decoder)
    with progress_bar(len(rows), "page") as bar:
        result = evaluate_pages(recognizer, rows, scoring or Scoring(), bar.update, batch_size)
    summary = {"manifest": str(manifest), **result["summary"], "normalization": (scoring or Scoring()).describe(),
               "model": str(recognizer.path), "decoder": recognizer.decoder_name,
               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "version": __version__}
    if report:
        write_report(report, summary, result["utterances"], result["failures"], recognizer, result["pages"])
    if as_json:
        print(json.dumps(summary))
    else:
        d = summary["detection"]
        print(format_table(summary).replace(" lines", f" reference lines on {summary['pages']} pages", 1))
        print(f"lines found {d['found']}, reference {d['reference']}: precision {100 * d['precision']:.2f} %, "
              f"recall {100 * d['recall']:.2f} %")
    report_failures(result["failures"], summary["pages"] + summary["failed"])
    return 1 if result["failures"] else 0


def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="compare two evaluation reports of the same utterances",
                       description="WER and CER of A and B on the utterances both scored, B - A with a 95 % "
                                   "interval and a p-value from a paired bootstrap, and the utterances that "
                                   "got better or worse.")
    p.add_argument("a", metavar="A", help="a --report folder (or its summary.json)")
    p.add_argument("b", metavar="B", help="another one")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from ..evaluation.compare import compare_reports, format_comparison

    result = compare_reports(args.a, args.b)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_comparison(result))
    return 0


def add_tune(sub) -> None:
    p = sub.add_parser("tune", help="choose the beam search's LM weight and bonus on a dev manifest",
                       description="Grid search of --alphas x --betas (x --unknown-penalties with a lexicon); the "
                                   "best (lowest WER for speech, CER for handwriting) goes to MODEL.decoding.json "
                                   "beside the model, which transcribe, read and evaluate then use by default.")
    p.add_argument("manifest", metavar="MANIFEST")
    p.add_argument("--model", help="the model to tune for (default: the bundled one for the manifest's kind)")
    p.add_argument("--lm", required=True, metavar="LM", help="ARPA file (.gz too) or KenLM binary (needs kenlm)")
    p.add_argument("--lexicon", metavar="WORDS.txt", help="keep words inside this list (see --unknown-penalties)")
    p.add_argument("--unknown-penalties", type=float, nargs="+", metavar="COST",
                   help="with --lexicon: let other words in at each of these costs (natural log) too; without "
                        "this, the lexicon only allows its words")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.3, 0.5, 0.8, 1.0, 1.5])
    p.add_argument("--betas", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    p.add_argument("--beam-size", type=count(), default=16)
    p.add_argument("--threads", type=count(0), default=0)
    p.set_defaults(func=run_tune)


def run_tune(args) -> int:
    from ..decoding.spec import write_sidecar
    from ..evaluation.tune import tune
    from ..inputs.manifest import read_manifest
    from ..kinds import kind_of_rows
    from ..runtime.loading import load_model

    rows = read_manifest(args.manifest)
    # greedy: tuning only needs the model's outputs, not the decoding it may already have
    recognizer = load_model(args.model, kind_of_rows(rows), threads=args.threads, decoder="greedy")
    result = tune(recognizer, rows, args.lm, args.alphas, args.betas, args.beam_size, args.lexicon,
                  penalties=args.unknown_penalties or (None,))
    path = write_sidecar(recognizer.path, result, args.lm, args.lexicon, args.beam_size, args.manifest)
    penalty = "" if result["unknown_penalty"] is None else f", unknown words {result['unknown_penalty']:g}"
    print(f"best: alpha {result['alpha']:g}, beta {result['beta']:g}{penalty}: WER {100 * result['wer']:.2f} %, "
          f"CER {100 * result['cer']:.2f} % (greedy {100 * result['greedy_wer']:.2f} %, "
          f"{100 * result['greedy_cer']:.2f} %) -> {path}")
    return 0
