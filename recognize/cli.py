"""The ``recognize`` command. Thin: each subcommand parses its arguments and calls one
library function; heavy imports happen inside the commands so that ``--help`` is instant.

Errors that are the user's (a missing file, a bad config key) print one line,
``error: <file or key>: <problem>``, and exit with status 1 (2 for usage errors);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

FORMATS = ("txt", "json", "srt", "vtt", "tsv")


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


def cmd_train(args) -> int:
    from .config import load_config
    from .distributed import from_env
    from .train import train

    overrides = args.set + ([f"train.init={args.init}"] if args.init else []) + (
        [f"train.device={args.device}"] if args.device else [])
    cfg = load_config(args.config, overrides)
    best = train(cfg, args.out, resume=args.resume)
    if from_env().main:
        print(f"best epoch {best['epoch']}: dev WER {100 * best['wer']:.2f} %, CER {100 * best['cer']:.2f} % "
              f"-> {args.out}/best.pt")
    return 0


BEAM_FLAGS = {"lm": "--lm", "lexicon": "--lexicon", "hotwords": "--hotword", "beam_size": "--beam-size",
              "alpha": "--alpha", "beta": "--beta", "nbest": "--nbest"}


def decoder_from(args):
    """``"greedy"``, ``"auto"`` (the model's tuned decoding, else greedy), or the beam options
    given, as changes to the model's tuned beam search (``{}`` for a bare ``--decoder beam``)."""
    from .beam import parse_hotwords
    from .errors import RecognizeError

    changes = {name: getattr(args, name) for name in BEAM_FLAGS
               if name != "hotwords" and getattr(args, name) is not None}
    if args.hotword:
        changes["hotwords"] = parse_hotwords(args.hotword)
    if args.decoder == "greedy":
        if changes:
            raise RecognizeError(f"{BEAM_FLAGS[next(iter(changes))]} needs --decoder beam")
        return "greedy"
    return "auto" if args.decoder is None and not changes else changes


def cmd_recognize(args) -> int:
    from .transcription import transcribe_command

    return transcribe_command(args.files, args.model, args.format, args.output_dir, args.device, args.threads,
                              decoder_from(args), kind=args.kind, skip_existing=args.skip_existing,
                              batch_size=args.batch_size)


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate_command
    from .text import Scoring

    scoring = Scoring(args.unicode.upper(), args.lowercase, args.remove_punctuation)
    return evaluate_command(args.manifest, args.model, args.json, args.report, args.device, args.threads,
                            decoder_from(args), scoring, args.batch_size)


def cmd_align(args) -> int:
    from .alignment import align_command

    return align_command(args.manifest, args.model, args.format, args.output_dir, args.device, args.threads,
                         args.batch_size)


def cmd_compare(args) -> int:
    import json

    from .compare import compare_reports, format_comparison

    result = compare_reports(args.a, args.b)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_comparison(result))
    return 0


def cmd_runs(args) -> int:
    import json

    from .errors import RecognizeError
    from .runs import compare_runs, format_runs, read_run

    if args.last < 0:
        raise RecognizeError(f"runs: --last must be 0 or more epochs, not {args.last}")
    runs, failed = [], 0
    for path in args.runs:  # a folder that is not a run is reported; the others are compared
        try:
            runs.append(read_run(path, args.last))
        except RecognizeError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
    if runs:
        result = compare_runs(runs)
        print(json.dumps(result, ensure_ascii=False) if args.json else format_runs(result, args.last))
    return 1 if failed else 0


def cmd_plot(args) -> int:
    from .atomic import atomic_write
    from .history import read_history
    from .plots import training_curves

    run = Path(args.run)
    output = Path(args.output or run / "curves.png")
    png = training_curves(read_history(run), str(run))
    atomic_write(output, lambda tmp: tmp.write_bytes(png))
    print(f"wrote {output}")
    return 0


def cmd_shard(args) -> int:
    from .config import load_config
    from .shards import write_shards

    cfg = load_config(args.config)
    shards = write_shards(args.manifest, args.out, cfg, args.shard_size)
    print(f"{len(shards)} shards -> {args.out} (train with --set train.train_shards={args.out})")
    return 0


def cmd_prepare(args) -> int:
    import importlib

    corpus = importlib.import_module(f".corpora.{args.corpus}", __package__)
    paths = corpus.prepare(args.source or corpus.URL, args.out)
    for name, path in paths.items():
        n = sum(1 for _ in open(path, encoding="utf-8"))
        print(f"{name}: {n} rows -> {path}")
    return 0


def cmd_lines(args) -> int:
    from .corpora import lines

    if args.layout == "gt-folder":
        rows = lines.from_gt_folder(args.sources[0], args.output)
    elif args.layout == "iam":
        rows = lines.from_iam_lines(args.sources[0], args.images or ".", args.output)
    else:
        rows = lines.from_pages(args.sources, args.images or Path(args.output).parent / "lines", args.output)
    print(f"{len(rows)} lines -> {args.output}")
    return 0


def cmd_release(args) -> int:
    from .checkpoint import load_checkpoint, release_checkpoint
    from .errors import RecognizeError

    inputs = {}
    if args.level_from or args.stretch_contrast:
        cfg = load_checkpoint(args.checkpoint)[1]
        option, needs = ("--level-from", "speech") if args.level_from else ("--stretch-contrast", "handwriting")
        if cfg.kind != needs:
            raise RecognizeError(f"{args.checkpoint}: {option} is for {needs} models; this one is a {cfg.kind} model")
    if args.level_from:
        from .audio import median_speech_level

        level = round(median_speech_level(args.level_from, cfg.features), 1)
        print(f"speech level of {args.level_from}: {level} dB (median); the model scales recordings to it")
        inputs["features"] = {"level_db": level}
    if args.stretch_contrast:
        inputs["image"] = {"stretch": True}
    release_checkpoint(args.checkpoint, args.output, inputs)
    print(f"wrote {args.output}")
    return 0


def cmd_average(args) -> int:
    from .averaging import average_checkpoints, pick_epochs
    from .errors import RecognizeError

    if bool(args.checkpoints) == bool(args.run):
        raise RecognizeError("average: give checkpoint files, or --run DIR with --last N or --best N")
    if args.run and bool(args.last) == bool(args.best):
        raise RecognizeError("average: --run needs one of --last N and --best N")
    paths = args.checkpoints or pick_epochs(args.run, args.last, args.best)
    average_checkpoints(paths, args.output)
    print(f"averaged {', '.join(Path(p).name for p in paths)} -> {args.output}")
    return 0


def cmd_lm(args) -> int:
    from .lm import NGramLM
    from .manifest import read_manifest
    from .text import normalize_text

    texts = []
    for source in args.sources:
        if str(source).endswith(".jsonl"):
            texts += [row["text"] for row in read_manifest(source)]
        else:
            try:
                texts += [normalize_text(line) for line in Path(source).read_text(encoding="utf-8").splitlines()]
            except (OSError, UnicodeDecodeError) as e:
                from .errors import RecognizeError

                raise RecognizeError(f"{source}: cannot read ({getattr(e, 'strerror', None) or 'not UTF-8'})") from None
    texts = [t for t in texts if t]
    lm = NGramLM.build(texts, args.order, args.unit)
    lm.save(args.output)
    sizes = ", ".join(f"{sum(1 for g in lm.probs if len(g) == n)} {n}-grams" for n in range(1, lm.order + 1))
    print(f"{len(texts)} sentences -> {args.output} ({args.unit} {args.order}-gram: {sizes})")
    return 0


def cmd_tune(args) -> int:
    from .api import load_model
    from .evaluation import manifest_kind
    from .manifest import read_manifest
    from .tuning import tune, write_sidecar

    rows = read_manifest(args.manifest)
    # greedy: tuning only needs the model's outputs, not the decoding it may already have
    recognizer = load_model(args.model, threads=args.threads, decoder="greedy", kind=manifest_kind(rows))
    result = tune(recognizer, rows, args.lm, args.alphas, args.betas, args.beam_size, args.lexicon)
    path = write_sidecar(recognizer.path, result, args.lm, args.lexicon, args.beam_size, args.manifest)
    print(f"best: alpha {result['alpha']:g}, beta {result['beta']:g}: WER {100 * result['wer']:.2f} %, "
          f"CER {100 * result['cer']:.2f} % (greedy {100 * result['greedy_wer']:.2f} %, "
          f"{100 * result['greedy_cer']:.2f} %) -> {path}")
    return 0


def cmd_export(args) -> int:
    from .export import export_onnx

    meta = export_onnx(args.checkpoint, args.output, int8=args.int8)
    print(f"wrote {args.output} ({meta['kind']}, {meta['precision']}, input '{meta['input']}')")
    return 0


def cmd_models(args) -> int:
    import json

    from .models import bundled_models

    models = bundled_models()
    if args.json:
        print(json.dumps(models, indent=2))
    else:
        for m in models:
            default = " (default)" if m["default"] else ""
            print(f"{m['name']}\t{m['kind']}{default}\n  onnx:       {m['onnx']}\n  checkpoint: {m['checkpoint']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .corpora import CORPORA

    parser = argparse.ArgumentParser(
        prog="recognize", description="Speech and handwriting recognition: features -> stacked BiLSTM -> CTC -> text.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_options(p):
        p.add_argument("--model", help="an exported model (.onnx, runs on onnxruntime) or a checkpoint (.pt, runs "
                                       "on torch); default: the bundled model (ONNX)")
        p.add_argument("--device", default="cpu", help="checkpoints: cpu, cuda, cuda:N or auto (default: cpu)")
        p.add_argument("--threads", type=count(0), default=0,
                       help="CPU threads (onnxruntime intra-op, or torch; default: the runtime's choice)")
        p.add_argument("--batch-size", type=count(), default=16, metavar="N",
                       help="inputs per forward pass (default: 16); an fp32 model gives the same output whatever N, "
                            "an int8 one moves slightly with it")

    def runtime_options(p):
        model_options(p)
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
        beam.add_argument("--hotword", action="append", default=[], metavar="WORDS[:WEIGHT]",
                          help="boost a word or phrase (weight in log units, default 5; repeatable)")
        beam.add_argument("--nbest", type=count(), help="alternatives kept in --format json (default: 1)")

    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, MP3, SPHERE, ...), or folders of them")
    runtime_options(p)
    p.add_argument("--format", choices=FORMATS, default="txt", help="output format (default: txt)")
    p.add_argument("--output-dir", metavar="DIR",
                   help="write one FILE_STEM.FORMAT per input here instead of printing to stdout")
    p.add_argument("--skip-existing", action="store_true", help="with --output-dir: leave out files already done")
    p.set_defaults(func=cmd_recognize, kind="speech")

    p = sub.add_parser("read", help="recognize handwritten text-line images")
    p.add_argument("files", nargs="+", metavar="IMAGE", help="line images (PNG, JPEG, TIFF, BMP, WebP, ...), or folders of them")
    runtime_options(p)
    p.add_argument("--format", choices=("txt", "json"), default="txt",
                   help="txt, or json with each character's x-range and confidence (default: txt)")
    p.add_argument("--output-dir", metavar="DIR", help="write one IMAGE_STEM.FORMAT per input here")
    p.add_argument("--skip-existing", action="store_true", help="with --output-dir: leave out images already done")
    p.set_defaults(func=cmd_recognize, kind="handwriting")

    p = sub.add_parser("evaluate", help="WER/CER of a model on a JSON Lines manifest")
    p.add_argument("manifest", metavar="MANIFEST", help='JSON Lines: {"id", "audio" or "image", "text"} per line')
    runtime_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--report", metavar="DIR",
                   help="write DIR/summary.json, utterances.jsonl and .csv, confusions.json, breakdowns.json, "
                        "ref.trn and hyp.trn (for sclite) and report.html; an interrupted run given the same DIR "
                        "resumes")
    p.add_argument("--unicode", choices=("nfc", "nfkc"), default="nfc",
                   help="Unicode normalization before scoring (default: nfc)")
    p.add_argument("--lowercase", action="store_true", help="fold case before scoring")
    p.add_argument("--remove-punctuation", action="store_true", help="drop punctuation before scoring")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("align", help="place known transcripts on their audio (word times) or line images",
                       description="Forced alignment: the most likely CTC path that spells each row's text "
                                   "exactly gives its words' start and end (speech, up to a minute per file) or "
                                   "its characters' x-ranges (line images). Rows that cannot be aligned "
                                   "(unreadable file, characters outside the model's alphabet, a text too long "
                                   "for the input) are reported and the rest go on.")
    p.add_argument("manifest", metavar="MANIFEST", help='JSON Lines: {"id", "audio" or "image", "text"} per line')
    model_options(p)
    p.add_argument("--format", choices=FORMATS[1:], default="json",
                   help="json (one line per row), srt, vtt or tsv (speech; need --output-dir for several rows); "
                        "default: json")
    p.add_argument("--output-dir", metavar="DIR", help="write one ID.FORMAT per row here instead of printing")
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("compare", help="compare two evaluation reports of the same utterances",
                       description="WER and CER of A and B on the utterances both scored, B - A with a 95 %% "
                                   "interval and a p-value from a paired bootstrap, and the utterances that "
                                   "got better or worse.")
    p.add_argument("a", metavar="A", help="a --report folder (or its summary.json)")
    p.add_argument("b", metavar="B", help="another one")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("runs", help="training runs side by side; seeds of one setting as mean and spread",
                       description="Best epoch and dev WER/CER of each run folder, the settings in which the runs "
                                   "differ, and, for runs that differ only in their seed (or threads, device), "
                                   "the mean, standard deviation and range over those seeds.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="training run folders (config.yaml, metrics.jsonl)")
    p.add_argument("--last", type=int, default=0, metavar="N",
                   help="also the mean dev WER/CER of each run's last N epochs, chosen by no dev figure "
                        "(the best epoch is the luckiest of many on a small dev set)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("plot", help="training loss and dev error curves of a run folder")
    p.add_argument("run", metavar="RUN", help="a training run folder (with metrics.jsonl)")
    p.add_argument("-o", "--output", metavar="PNG", help="default: RUN/curves.png")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train a model. Under torchrun (torchrun --nproc_per_node=K -m recognize train "
                                   "...) each process trains on every K-th batch with DistributedDataParallel.")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (sets train.device; under torchrun cuda means "
                                    "cuda:LOCAL_RANK)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=3e-4 (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder: checkpoints, metrics.jsonl, config.yaml")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="fine-tune from a checkpoint, even with another alphabet (train.init_alphabet: union or "
                        "new; train.freeze_frontend_steps)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("shard", help="pack a manifest and its files into tar shards for streamed training",
                       description="Write WebDataset-style tar shards (one .json row + the media file per item) "
                                   "and shards.json. Copy the folder anywhere (an HTTP server, object storage "
                                   "behind HTTP) and train with train.train_shards=FOLDER_OR_URL.")
    p.add_argument("manifest")
    p.add_argument("--config", required=True, metavar="CONFIG.yaml",
                   help="the training config: its kind and image height give the lengths used for batching")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--shard-size", type=count(), default=1000, metavar="N", help="items per shard (default 1000)")
    p.set_defaults(func=cmd_shard)

    p = sub.add_parser("prepare", help="prepare a corpus: release -> JSON Lines manifests")
    p.add_argument("corpus", choices=CORPORA)
    p.add_argument("--source", help="local archive, release folder or URL (default: the corpus's download URL); "
                   "for kaldi, a Kaldi/ESPnet data directory (wav.scp, text, utt2spk)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the manifests (and extracted audio)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("lines", help="a manifest of handwritten lines from line images or page XML",
                       description="gt-folder: a folder of x.png + x.gt.txt pairs (kraken, Calamari, Tesseract); "
                                   "iam: the IAM database's lines.txt (--images: the folder holding lines/); "
                                   "pages: ALTO or PAGE XML files whose lines are cut out as PNG (into --images, "
                                   "default: a lines/ folder beside the manifest).")
    p.add_argument("layout", choices=("gt-folder", "iam", "pages"))
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="the folder, lines.txt, or page XML files")
    p.add_argument("--images", metavar="DIR", help="iam: where the line images are; pages: where to write them")
    p.add_argument("-o", "--output", required=True, metavar="MANIFEST", help="the JSON Lines manifest to write")
    p.set_defaults(func=cmd_lines)

    p = sub.add_parser("release", help="strip a checkpoint for shipping: no training state, float16 weights")
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", required=True, metavar="OUT.pt", help="the released checkpoint to write")
    inputs = p.add_mutually_exclusive_group()  # one for speech models, the other for handwriting
    inputs.add_argument("--level-from", metavar="MANIFEST",
                        help="speech: measure the median speech level of these recordings (the training "
                             "manifest) and have the model scale every recording to it before its features, so "
                             "that quiet and loud recordings read as well as ones at the training level "
                             "(features.level_db)")
    inputs.add_argument("--stretch-contrast", action="store_true",
                        help="handwriting: have the model stretch each line's contrast first (background to 0, "
                             "ink to 1), so that grey paper, faint ink and dim photos read like clean scans "
                             "(image.stretch)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("average", help="average the weights of several epochs of a run",
                       description="Average checkpoints: given files, or a run folder's last or best N epoch "
                                   "snapshots (epochN.pt, kept by train.keep_epochs).")
    p.add_argument("checkpoints", nargs="*", metavar="CHECKPOINT")
    p.add_argument("--run", metavar="DIR", help="a run folder (with metrics.jsonl and epochN.pt snapshots)")
    p.add_argument("--last", type=count(0), default=0, metavar="N", help="with --run: its last N epochs")
    p.add_argument("--best", type=count(0), default=0, metavar="N", help="with --run: its N epochs of lowest dev error")
    p.add_argument("-o", "--output", required=True, metavar="OUT.pt")
    p.set_defaults(func=cmd_average)

    p = sub.add_parser("export", help="export a checkpoint to ONNX for onnxruntime (needs torch and onnx)",
                       description="Inputs: features (N, T, F) or images (N, 1, H, W), and lengths (N,); outputs: "
                                   "log_probs (N, T', V) and out_lens (N,). Exact on padded batches; the model's "
                                   "alphabet and settings ride in its metadata.")
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx")
    p.add_argument("--int8", action="store_true",
                   help="quantize the LSTM and linear weights to int8 (smaller, faster on CPU; see the README)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("lm", help="build an n-gram language model (ARPA) from text")
    lm_sub = p.add_subparsers(dest="lm_command", required=True, metavar="build")
    p = lm_sub.add_parser("build", help="interpolated Kneser-Ney n-gram model -> ARPA file",
                          description="Sentences come from text files (one per line) or JSON Lines manifests "
                                      "(their text). Word LMs for speech, character LMs for handwriting.")
    p.add_argument("sources", nargs="+", metavar="TEXT", help="text files or .jsonl manifests")
    p.add_argument("-o", "--output", required=True, metavar="LM.arpa", help="the ARPA file (.gz: compressed)")
    p.add_argument("--order", type=count(), default=3, help="n (default: 3)")
    p.add_argument("--unit", choices=("word", "char"), default="word", help="default: word")
    p.set_defaults(func=cmd_lm)

    p = sub.add_parser("tune", help="choose the beam search's LM weight and bonus on a dev manifest",
                       description="Grid search of --alphas x --betas; the best (lowest WER for speech, CER for "
                                   "handwriting) goes to MODEL.decoding.json beside the model, which transcribe, "
                                   "read and evaluate then use by default.")
    p.add_argument("manifest", metavar="MANIFEST")
    p.add_argument("--model", help="the model to tune for (default: the bundled one for the manifest's kind)")
    p.add_argument("--lm", required=True, metavar="LM", help="ARPA file (.gz too) or KenLM binary (needs kenlm)")
    p.add_argument("--lexicon", metavar="WORDS.txt")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.3, 0.5, 0.8, 1.0, 1.5])
    p.add_argument("--betas", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    p.add_argument("--beam-size", type=count(), default=16)
    p.add_argument("--threads", type=count(0), default=0)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("models", help="list the bundled models")
    p.add_argument("--json", action="store_true", help="a JSON list of {name, kind, default, onnx, checkpoint, card}")
    p.set_defaults(func=cmd_models)
    return parser


def main(argv=None) -> int:
    from .errors import RecognizeError

    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
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
    from .distributed import end_process, from_env

    if from_env().distributed:
        end_process(code)
    sys.exit(code)
