"""``recognize prepare``, ``lines``, ``degrade``, ``shard`` and ``lm build``: corpora into
manifests, shards and language models."""

from __future__ import annotations

from pathlib import Path

from .common import count


def add_prepare(sub) -> None:
    from ..corpora import CORPORA

    p = sub.add_parser("prepare", help="prepare a corpus: release -> JSON Lines manifests")
    p.add_argument("corpus", choices=CORPORA)
    p.add_argument("--source", help="local archive, release folder or URL (default: the corpus's download URL); "
                   "for kaldi, a Kaldi/ESPnet data directory (wav.scp, text, utt2spk)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the manifests (and extracted audio)")
    p.set_defaults(func=run_prepare)


def run_prepare(args) -> int:
    import importlib

    corpus = importlib.import_module(f"recognize.corpora.{args.corpus}")
    paths = corpus.prepare(args.source or corpus.URL, args.out)
    for name, path in paths.items():
        n = sum(1 for _ in open(path, encoding="utf-8"))
        print(f"{name}: {n} rows -> {path}")
    return 0


def add_lines(sub) -> None:
    p = sub.add_parser("lines", help="a manifest of handwritten lines from line images or page XML",
                       description="gt-folder: a folder of x.png + x.gt.txt pairs (kraken, Calamari, Tesseract); "
                                   "iam: the IAM database's lines.txt (--images: the folder holding lines/); "
                                   "pages: ALTO or PAGE XML files whose lines are cut out as PNG (into --images, "
                                   "default: a lines/ folder beside the manifest).")
    p.add_argument("layout", choices=("gt-folder", "iam", "pages"))
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="the folder, lines.txt, or page XML files")
    p.add_argument("--images", metavar="DIR", help="iam: where the line images are; pages: where to write them")
    p.add_argument("-o", "--output", required=True, metavar="MANIFEST", help="the JSON Lines manifest to write")
    p.set_defaults(func=run_lines)


def run_lines(args) -> int:
    from ..corpora import lines

    if args.layout == "gt-folder":
        rows = lines.from_gt_folder(args.sources[0], args.output)
    elif args.layout == "iam":
        rows = lines.from_iam_lines(args.sources[0], args.images or ".", args.output)
    else:
        rows = lines.from_pages(args.sources, args.images or Path(args.output).parent / "lines", args.output)
    print(f"{len(rows)} lines -> {args.output}")
    return 0


def add_degrade(sub) -> None:
    p = sub.add_parser("degrade", help="copies of a speech manifest's recordings at another rate, in noise, "
                       "or with silence around them",
                       description="Robustness dev sets: each recording resampled, padded with silence and "
                                   "given noise (in that order), written as 16-bit WAV into a folder named "
                                   "after the new manifest, beside it. Example: recognize degrade "
                                   "data/an4/dev.jsonl -o data/an4/dev-8k.jsonl --sample-rate 8000")
    p.add_argument("manifest", help="a speech manifest (JSON Lines with audio and text)")
    p.add_argument("-o", "--output", required=True, metavar="MANIFEST", help="the JSON Lines manifest to write")
    p.add_argument("--sample-rate", type=count(), default=16000, metavar="HZ",
                   help="the copies' rate (default 16000; 8000: the telephone band)")
    p.add_argument("--snr", type=float, metavar="DB", help="add noise this many dB below each recording's power")
    p.add_argument("--noise", choices=("white", "pink", "brown"), default="white", help="its colour (default white)")
    p.add_argument("--pad", type=float, default=0.0, metavar="SECONDS", help="silence before and after (default 0)")
    p.add_argument("--seed", type=int, default=0, help="the noise's seed (default 0)")
    p.set_defaults(func=run_degrade)


def run_degrade(args) -> int:
    from ..corpora.degrade import degrade
    from ..errors import RecognizeError

    if args.pad < 0 or args.pad > 60:
        raise RecognizeError(f"--pad {args.pad}: must be between 0 and 60 seconds")
    rows = degrade(args.manifest, args.output, args.sample_rate, args.snr, args.noise, args.pad, args.seed)
    print(f"{len(rows)} recordings -> {args.output}")
    return 0


def add_shard(sub) -> None:
    p = sub.add_parser("shard", help="pack a manifest and its files into tar shards for streamed training",
                       description="Write WebDataset-style tar shards (one .json row + the media file per item) "
                                   "and shards.json. Copy the folder anywhere (an HTTP server, object storage "
                                   "behind HTTP) and train with train.train_shards=FOLDER_OR_URL.")
    p.add_argument("manifest")
    p.add_argument("--config", required=True, metavar="CONFIG.yaml",
                   help="the training config: its kind and image height give the lengths used for batching")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--shard-size", type=count(), default=1000, metavar="N", help="items per shard (default 1000)")
    p.set_defaults(func=run_shard)


def run_shard(args) -> int:
    from ..config import load_config
    from ..training.shards import write_shards

    cfg = load_config(args.config)
    shards = write_shards(args.manifest, args.out, cfg, args.shard_size)
    print(f"{len(shards)} shards -> {args.out} (train with --set train.train_shards={args.out})")
    return 0


def add_lm(sub) -> None:
    p = sub.add_parser("lm", help="build an n-gram language model (ARPA) from text")
    lm_sub = p.add_subparsers(dest="lm_command", required=True, metavar="build")
    p = lm_sub.add_parser("build", help="interpolated Kneser-Ney n-gram model -> ARPA file",
                          description="Sentences come from text files (one per line) or JSON Lines manifests "
                                      "(their text). Word LMs for speech, character LMs for handwriting.")
    p.add_argument("sources", nargs="+", metavar="TEXT", help="text files or .jsonl manifests")
    p.add_argument("-o", "--output", required=True, metavar="LM.arpa", help="the ARPA file (.gz: compressed)")
    p.add_argument("--order", type=count(), default=3, help="n (default: 3)")
    p.add_argument("--unit", choices=("word", "char"), default="word", help="default: word")
    p.add_argument("--repeat", type=count(), default=1, metavar="N",
                   help="count the manifests' sentences N times (default: 1), so that word lists given as text "
                        "files or --spell do not outweigh them")
    p.add_argument("--spell", metavar="WORDS.txt",
                   help="also learn each word of this list (first field per line; # starts a comment) spelled "
                        "letter by letter, as speech corpora transcribe spelled names: \"mason\" -> \"M A S O N\"")
    p.set_defaults(func=run_lm)


def run_lm(args) -> int:
    from ..decoding.lm import NGramLM
    from ..errors import RecognizeError
    from ..inputs.manifest import read_manifest
    from ..inputs.text import normalize_text

    texts = []
    for source in args.sources:
        if str(source).endswith(".jsonl"):
            texts += [row["text"] for row in read_manifest(source) if row["text"]] * args.repeat
            continue
        try:
            texts += [normalize_text(line) for line in Path(source).read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as e:
            raise RecognizeError(f"{source}: cannot read ({getattr(e, 'strerror', None) or 'not UTF-8'})") from None
    texts = [t for t in texts if t]
    if args.spell:
        texts += [" ".join(word.upper()) for word in read_words(args.spell)]
    lm = NGramLM.build(texts, args.order, args.unit)
    lm.save(args.output)
    sizes = ", ".join(f"{sum(1 for g in lm.probs if len(g) == n)} {n}-grams" for n in range(1, lm.order + 1))
    print(f"{len(texts)} sentences -> {args.output} ({args.unit} {args.order}-gram: {sizes})")
    return 0


def read_words(path) -> list[str]:
    """A word list in its order: the first field of each line; ``#`` lines are comments."""
    from ..errors import RecognizeError

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RecognizeError(f"{path}: cannot read ({getattr(e, 'strerror', None) or 'not UTF-8'})") from None
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
