"""The bundled models beside their peers: the same files, one thread, each contender a
fresh process timed whole (start-up included), interleaved, median of --repeats.

    python export/peers.py [--speech data/an4/dev.jsonl] [--handwriting data/copiste/val.jsonl]
                           [--dictionary data/an4/download/extracted/an4/etc/an4.dic] [--repeats 3]
                           [--speech-model runs/an4-lstm/model.onnx] [--handwriting-model MODEL]

``--speech-model`` and ``--handwriting-model`` race another model file (with its
``.decoding.json``, as ``recognize tune`` writes it) beside the bundled one.

Peers are not dependencies of recognize; one that is not installed is skipped with a note:
- CMU PocketSphinx 5 (``pip install pocketsphinx``) with its bundled en-us acoustic
  model, the AN4 release's pronouncing dictionary, and a word trigram of the training
  transcripts (``recognize lm build TRAIN --order 3``, built here) — the strongest
  PocketSphinx setting measured on AN4 in ../shared/FINDINGS.md;
- Tesseract 5 (``apt install tesseract-ocr tesseract-ocr-fra``), ``-l fra --psm 7`` (one
  line per image), all line images in one process through a list file.
Prints each contender's WER, CER and speed (RTFx for audio, lines/s for images), and
recognize's speed over the peer's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {**os.environ, "OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "1"}


def timed(command: list, repeats_done: dict, name: str) -> str:
    """Run ``command`` whole, add its wall time under ``name``; its stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=ONE_THREAD)
    repeats_done.setdefault(name, []).append(time.perf_counter() - started)
    if done.returncode != 0:
        sys.exit(f"{name}: {' '.join(map(str, command))} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def pocketsphinx_worker(manifest: str, lm: str, dictionary: str) -> None:
    """(The timed PocketSphinx process.) Decode every row; print ``{"wer", "cer"}``."""
    from pocketsphinx import Config, Decoder, get_model_path

    from recognize.evaluation.metrics import corpus_errors
    from recognize.inputs.audio import load_audio
    from recognize.inputs.manifest import media_path, read_manifest

    config = Config(hmm=os.path.join(get_model_path(), "en-us", "en-us"), lm=lm, dict=dictionary, loglevel="FATAL")
    decoder = Decoder(config)
    rows, hypotheses = read_manifest(manifest), []
    for row in rows:
        pcm = (load_audio(media_path(row), 16000).clip(-1, 1) * 32767).astype("<i2").tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        words = decoder.hyp().hypstr if decoder.hyp() else ""
        hypotheses.append(" ".join(w.split("(")[0] for w in words.split()))
    errors = corpus_errors([row["text"] for row in rows], hypotheses)
    print(json.dumps({"wer": errors["wer"], "cer": errors["cer"]}))


def tesseract_scores(output: str, rows: list[dict]) -> dict:
    """WER and CER of Tesseract's list output (one form feed after each image)."""
    from recognize.evaluation.metrics import corpus_errors

    texts = [" ".join(page.split()) for page in output.split("\f")][: len(rows)]
    errors = corpus_errors([row["text"] for row in rows], texts + [""] * (len(rows) - len(texts)))
    return {"wer": errors["wer"], "cer": errors["cer"]}


def recognize_contenders(manifest: str, model: str | None = None) -> dict:
    """``recognize evaluate`` of ``manifest`` on one thread, default decoding and greedy,
    with the bundled model and, given, ``model`` too."""
    models = {"recognize": []}
    if model:
        models[f"recognize {Path(model).parent.name}/{Path(model).name}"] = ["--model", model]
    contenders = {}
    for name, chosen in models.items():
        command = [sys.executable, "-m", "recognize", "evaluate", manifest, "--threads", "1", "--json", *chosen]
        contenders[f"{name}, default decoding"] = command
        contenders[f"{name}, greedy"] = [*command, "--decoder", "greedy"]
    return contenders


def race(contenders: dict, repeats: int, score=lambda name, out: json.loads(out)) -> tuple[dict, dict]:
    """Each contender's command run ``repeats`` times, the contenders in turn: ``(walls,
    scores)``, each one's wall seconds and ``score(name, stdout)`` of its last run."""
    walls, scores = {}, {}
    for _ in range(repeats):
        for name, command in contenders.items():
            scores[name] = score(name, timed(command, walls, name))
    return walls, scores


def speech(manifest: str, dictionary: str, repeats: int, model: str | None = None) -> None:
    from recognize.inputs.manifest import duration_of, read_manifest

    rows = read_manifest(manifest)
    seconds = sum(duration_of(row) for row in rows)
    contenders = recognize_contenders(manifest, model)
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        print("PocketSphinx is not installed (pip install pocketsphinx): skipped")
    else:
        if not Path(dictionary).exists():
            print(f"{dictionary}: no AN4 dictionary (recognize prepare an4 extracts it): PocketSphinx skipped")
        else:
            lm = Path(tempfile.mkdtemp()) / "an4.3gram.arpa"
            train = str(Path(manifest).with_name("train.jsonl"))
            subprocess.run([sys.executable, "-m", "recognize", "lm", "build", train, "--order", "3", "-o", lm],
                           check=True, capture_output=True, cwd=ROOT)
            contenders["PocketSphinx 5, AN4 trigram and dictionary"] = [
                sys.executable, __file__, "pocketsphinx", manifest, str(lm), dictionary]
    walls, scores = race(contenders, repeats)
    table(f"{Path(manifest).name}: {len(rows)} recordings, {seconds:.1f} s of audio", "RTFx", seconds, walls, scores)


def handwriting(manifest: str, repeats: int, model: str | None = None) -> None:
    from recognize.inputs.manifest import media_path, read_manifest

    rows = read_manifest(manifest)
    contenders = recognize_contenders(manifest, model)
    if shutil.which("tesseract") is None:
        print("Tesseract is not installed (apt install tesseract-ocr tesseract-ocr-fra): skipped")
    else:
        images = Path(tempfile.mkdtemp()) / "images.txt"
        images.write_text("".join(str(Path(media_path(row)).resolve()) + "\n" for row in rows))
        contenders["Tesseract 5, fra, --psm 7"] = ["tesseract", images, "stdout", "-l", "fra", "--psm", "7"]
    walls, scores = race(contenders, repeats, lambda name, out: tesseract_scores(out, rows)
                         if name.startswith("Tesseract") else json.loads(out))
    table(f"{Path(manifest).name}: {len(rows)} line images", "lines/s", len(rows), walls, scores)


def table(title: str, unit: str, amount: float, walls: dict, scores: dict) -> None:
    peer = next((name for name in walls if not name.startswith("recognize")), None)
    speed = {name: amount / statistics.median(times) for name, times in walls.items()}
    print(f"\n{title}; each a fresh process on one thread, median of {len(next(iter(walls.values())))}\n")
    print(f"| contender | WER | CER | {unit} |" + (" × the peer |" if peer else "") + "\n|---|---|---|---|"
          + ("---|" if peer else ""))
    for name in walls:
        ratio = f" {speed[name] / speed[peer]:.2f} |" if peer else ""
        print(f"| {name} | {100 * scores[name]['wer']:.2f} % | {100 * scores[name]['cer']:.2f} % | "
              f"{speed[name]:.1f} |{ratio}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "pocketsphinx":
        pocketsphinx_worker(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speech", default="data/an4/dev.jsonl", help="audio manifest (default: AN4 dev)")
    parser.add_argument("--dictionary", default="data/an4/download/extracted/an4/etc/an4.dic",
                        help="PocketSphinx's pronouncing dictionary (default: the AN4 release's)")
    parser.add_argument("--handwriting", default="data/copiste/val.jsonl", help="line images (default: Copiste val)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speech-model", help="another speech model file to race beside the bundled one")
    parser.add_argument("--handwriting-model", help="another handwriting model file to race beside the bundled one")
    args = parser.parse_args()
    for name in ("speech", "dictionary", "handwriting", "speech_model", "handwriting_model"):  # run from the root
        if getattr(args, name):
            setattr(args, name, str(Path(getattr(args, name)).resolve()))
    from benchmark import cpu_model

    print(cpu_model())
    for manifest, run in ((args.speech, lambda: speech(args.speech, args.dictionary, args.repeats, args.speech_model)),
                          (args.handwriting, lambda: handwriting(args.handwriting, args.repeats,
                                                                 args.handwriting_model))):
        if Path(manifest).exists():
            run()
        else:
            print(f"{manifest}: not prepared (see the recipes): skipped")


if __name__ == "__main__":
    main()
