"""The recipes end to end on the real corpora in ../shared/data (skipped where absent)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import AN4_ARCHIVE, ROOT, SHARED_DATA, needs, run_cli
from PIL import Image

from recognize.corpora import an4


def test_yesno_end_to_end(yesno_run):
    """prepare -> train -> evaluate -> transcribe on the real yesno recordings."""
    done = run_cli("evaluate", yesno_run / "data" / "dev.jsonl", "--model", yesno_run / "run" / "best.pt", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n"] == 30 and summary["wer"] <= 0.05, summary
    records = [json.loads(l) for l in (yesno_run / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["train_loss"] < records[0]["train_loss"]


def test_the_cells_recipe_tables_its_runs(yesno_run, tmp_path):
    """experiments/cells: adding.py's rows and table.py's table of TASK-CELL run folders, here
    a real (yesno) run measured the way run.sh measures it."""
    run = tmp_path / "yesno-lstm"
    run.mkdir()
    for name in ("best.pt", "metrics.jsonl", "config.yaml"):
        shutil.copy(yesno_run / "run" / name, run / name)
    assert run_cli("export", run / "best.pt", "-o", run / "model.onnx", "--int8").returncode == 0
    for model in ("best.pt", "model.onnx"):
        done = run_cli("evaluate", yesno_run / "data" / "train.jsonl", "--model", run / model, "--json", "--threads", 1)
        (run / f"speed_{model}.json").write_text(done.stdout)
    cells = ROOT / "experiments" / "cells"
    adding = subprocess.run([sys.executable, cells / "adding.py", "--cells", "rnn", "cifg", "--length", "12",
                             "--steps", "3", "--batch", "4", "--hidden", "4", "--json", tmp_path / "adding.json"],
                            capture_output=True, text=True)
    assert adding.returncode == 0, adding.stderr
    table = subprocess.run([sys.executable, cells / "table.py", tmp_path], capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    best = min(json.loads(l)["wer"] for l in (run / "metrics.jsonl").read_text().splitlines())
    assert re.search(rf"\| lstm \| [\d,]+ \| {100 * best:.2f} % \|", table.stdout), table.stdout
    # a bidirectional tanh RNN of 4 units on 2 inputs: 2 x (4*2 + 4*4 + 4 + 4) parameters
    assert "| rnn | 64 |" in table.stdout and "| cifg |" in table.stdout and "### yesno (" in table.stdout


@needs(AN4_ARCHIVE)
def test_an4_prepare_is_speaker_disjoint(tmp_path):
    paths = an4.prepare(str(AN4_ARCHIVE), tmp_path)
    lexicon = paths.pop("lexicon").read_text().split()
    rows = {name: [json.loads(l) for l in path.read_text().splitlines()] for name, path in paths.items()}
    assert len(lexicon) == 101 and "SEVENTY" in lexicon and lexicon == sorted(set(lexicon))
    assert {w for part in rows.values() for r in part for w in r["text"].split()} <= set(lexicon)
    assert set(rows) == {"train", "dev"}  # the test part is held out of this copy
    assert len(rows["train"]) == 857 and len(rows["dev"]) == 91
    assert {r["speaker"] for r in rows["dev"]} == set(an4.DEV_SPEAKERS)
    assert not {r["speaker"] for r in rows["train"]} & set(an4.DEV_SPEAKERS)
    first = rows["train"][0]
    assert first == {**first, "id": "an251-fash-b", "text": "YES", "speaker": "fash", "gender": "f"}
    assert sum(r["gender"] == "f" for r in rows["dev"]) == 26  # fjam and fplp
    assert (tmp_path / first["audio"]).exists() and 0.5 < first["duration"] < 2


CARD_DEFAULT = r"\*\*(?:dev|val) WER (\d+\.\d+) %, CER (\d+\.\d+) %\*\*"  # the default decoding, in bold
CARD_GREEDY = r"greedy: WER (\d+\.\d+) %, CER (\d+\.\d+) %"


@pytest.mark.parametrize("name, manifest", [("an4", "an4_dev"), ("copiste", "copiste_val")])
@pytest.mark.parametrize("options, pattern", [([], CARD_DEFAULT), (["--decoder", "greedy"], CARD_GREEDY)])
def test_bundled_models_score_what_their_cards_say(name, manifest, options, pattern, request):
    """Each shipped model (its ONNX file, as it runs by default) on the dev split its card reports."""
    done = run_cli("evaluate", request.getfixturevalue(manifest), "--json", "--threads", "1", *options)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    card = (ROOT / "recognize" / "models" / name / "MODEL_CARD.md").read_text()
    wer, cer = (float(x) / 100 for x in re.search(pattern, card).groups())
    # onnxruntime's int8 kernels round differently from one CPU to another (the copiste
    # card's figures moved by up to 0.11 points between two build machines), so 0.2 points
    assert summary["wer"] == pytest.approx(wer, abs=0.002) and summary["cer"] == pytest.approx(cer, abs=0.002)


def test_joined_reads_the_recordings_alone_as_evaluate_does_and_joined_in_fewer_files(sample_manifest):
    done = subprocess.run([sys.executable, ROOT / "experiments" / "an4" / "joined.py", "--manifest", sample_manifest,
                           "--groups", "1", "2"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"(\d+) at a time: (\d+) files, WER (\d+\.\d+) %", done.stdout)
    assert [(k, n) for k, n, _ in rows] == [("1", "2"), ("2", "1")], done.stdout
    greedy = json.loads(run_cli("evaluate", sample_manifest, "--json", "--decoder", "greedy", "--threads", "1").stdout)
    assert float(rows[0][2]) == pytest.approx(100 * greedy["wer"], abs=0.005)


def test_weight_noise_script_scores_the_clean_model_as_evaluate_does_and_worse_with_noise(sample_manifest):
    done = subprocess.run([sys.executable, ROOT / "experiments" / "an4" / "weight_noise.py", "--manifest",
                           sample_manifest, "--std", "0", "0.2"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert re.search(r"standard deviation 0\.\d+", done.stdout), done.stdout
    rows = re.findall(r"noise ([\d.]+): dev WER (\d+\.\d+) %, CER (\d+\.\d+) %", done.stdout)
    assert [std for std, _, _ in rows] == ["0", "0.2"], done.stdout
    greedy = json.loads(run_cli("evaluate", sample_manifest, "--json", "--decoder", "greedy", "--threads", "1",
                                "--model", ROOT / "recognize" / "models" / "an4" / "model.pt").stdout)
    assert float(rows[0][1]) == pytest.approx(100 * greedy["wer"], abs=0.005)
    assert float(rows[1][2]) > float(rows[0][2]) + 20  # noise of twice the weights' spread wrecks it



def test_noise_floor_script_reads_as_evaluate_does_and_subtraction_helps_in_white_noise(sample_manifest, tmp_path):
    """experiments/an4/noise_floor.py: factor 0 is the features as they are; under white
    noise 5 dB below the speech, taking the noise floor off reads the samples better."""
    noisy = tmp_path / "noisy.jsonl"
    assert run_cli("degrade", sample_manifest, "-o", noisy, "--snr", "5").returncode == 0
    done = subprocess.run([sys.executable, ROOT / "experiments" / "an4" / "noise_floor.py", "--manifests",
                           sample_manifest, noisy, "--factors", "0", "1"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"factor ([\d.]+), .*: WER (\d+\.\d+) %, CER (\d+\.\d+) %", done.stdout)
    assert [factor for factor, _, _ in rows] == ["0", "1", "0", "1"], done.stdout
    greedy = json.loads(run_cli("evaluate", sample_manifest, "--json", "--decoder", "greedy", "--threads", "1").stdout)
    assert float(rows[0][1]) == pytest.approx(100 * greedy["wer"], abs=0.005)
    assert float(rows[3][2]) < float(rows[2][2])  # measured: 11.11 % against 25.00 %

WORDS = ROOT / "recipes" / "an4" / "english_words.txt"


def test_lm_build_repeats_the_sentences_then_spells_the_words(sample_manifest, tmp_path):
    """`--repeat 2 --spell WORDS` learns what a text of the transcripts twice and the words
    spelled (comments and further fields dropped) teaches: the same ARPA file, byte for byte."""
    words = tmp_path / "words.txt"
    words.write_text("# a notice\nmason\nmemory 123\n\n")
    transcripts = [json.loads(line)["text"] for line in sample_manifest.read_text().splitlines()]
    text = tmp_path / "text.txt"
    text.write_text("\n".join(transcripts * 2 + ["M A S O N", "M E M O R Y"]) + "\n")
    built = run_cli("lm", "build", sample_manifest, "--repeat", 2, "--spell", words, "-o", tmp_path / "a.arpa")
    assert built.returncode == 0 and "6 sentences" in built.stdout, built.stderr
    assert run_cli("lm", "build", text, "-o", tmp_path / "b.arpa").returncode == 0
    assert (tmp_path / "a.arpa").read_text() == (tmp_path / "b.arpa").read_text()
    assert "M A S O N" not in (tmp_path / "a.arpa").read_text() and "\tS\t" in (tmp_path / "a.arpa").read_text()


def test_lm_build_names_a_missing_word_list_and_writes_nothing(sample_manifest, tmp_path):
    out = tmp_path / "lm.arpa"
    done = run_cli("lm", "build", sample_manifest, "--spell", tmp_path / "nope.txt", "-o", out)
    assert done.returncode == 1 and done.stderr.strip() == f"error: {tmp_path / 'nope.txt'}: cannot read (No such file or directory)"
    assert not out.exists()


def test_the_shipped_word_lm_is_stage_6s_and_the_spelled_words_teach_it_spelling(an4_dev, tmp_path):
    """Stage 6's commands rebuild `recognize/models/an4/lm.arpa.gz` byte for byte; and
    asked for the likeliest next letter of a spelled word from the committed list, it is
    right far more often than the same 4-gram of the transcripts alone (measured: 38 %
    against 22 % of the letters of the list's first 300 words of four letters or more)."""
    import gzip
    import string

    from recognize.cli.data import read_words
    from recognize.decoding.lm import load_lm

    train = an4_dev.parent / "train.jsonl"
    spelling = ("--repeat", "10", "--spell", WORDS)  # as stage 6 builds it
    for options, lm in ((spelling, "spelling.arpa.gz"), ((), "transcripts.arpa.gz")):
        assert run_cli("lm", "build", train, *options, "-o", tmp_path / lm, "--order", "4").returncode == 0
    shipped = ROOT / "recognize" / "models" / "an4" / "lm.arpa.gz"
    assert gzip.open(tmp_path / "spelling.arpa.gz").read() == gzip.open(shipped).read()

    words = [w.upper() for w in read_words(WORDS) if len(w) >= 4][:300]

    def next_letter_accuracy(lm) -> float:
        cases = [(("<s>", *w[:i]), w[i]) for w in words for i in range(1, len(w))]
        return sum(max(string.ascii_uppercase, key=lambda c: lm.score(ctx, c)) == right
                   for ctx, right in cases) / len(cases)

    spelling, transcripts = (next_letter_accuracy(load_lm(tmp_path / lm))
                             for lm in ("spelling.arpa.gz", "transcripts.arpa.gz"))
    assert spelling > 0.35 and transcripts < 0.25, (spelling, transcripts)


def test_the_shipped_character_lm_is_stage_6s(copiste_val, tmp_path):
    """recipes/copiste stage 6 rebuilds `recognize/models/copiste/lm.arpa.gz` byte for byte:
    the training text three times and the 20,000 most frequent French words."""
    import gzip

    lm, bundled = tmp_path / "lm.arpa.gz", ROOT / "recognize" / "models" / "copiste"
    done = run_cli("lm", "build", copiste_val.parent / "train.jsonl", bundled / "french_words.txt",
                   "--repeat", 3, "-o", lm, "--order", 6, "--unit", "char")
    assert done.returncode == 0, done.stderr
    assert gzip.open(lm).read() == gzip.open(bundled / "lm.arpa.gz").read()


@needs(SHARED_DATA / "copiste" / "pages" / "train")
def test_learned_baselines_trains_on_pages_and_scores_the_sample_page_with_its_centres(tmp_path):
    """experiments/pages: a U-Net trained one epoch on four pages gives the finder centres
    that `recognize evaluate` scores (the sample page's 28 lines are the reference)."""
    script = ROOT / "experiments" / "pages" / "learned_baselines.py"
    net = tmp_path / "unet.pt"
    done = subprocess.run([sys.executable, script, "train", "--epochs", "1", "--limit", "4", "--out", net],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert re.search(r"4 pages, 10\d{4} parameters", done.stdout) and net.exists(), done.stdout
    done = subprocess.run([sys.executable, script, "evaluate", "--net", net, "--pages", ROOT / "samples"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["pages"] == 1 and summary["n"] == 28 and 0 < summary["cer"] <= 1


def test_peers_script_scores_recognize_as_evaluate_does_and_runs_or_skips_each_peer(sample_manifest, tmp_path):
    """export/peers.py on the AN4 samples and two real Copiste lines, one pass each."""
    lines = tmp_path / "lines.jsonl"
    images = sorted((ROOT / "tests" / "data" / "copiste").glob("*.png"))[:2]
    lines.write_text("".join(json.dumps({"id": p.stem, "image": str(p),
                                         "text": p.with_suffix(".gt.txt").read_text(encoding="utf-8").strip()}) + "\n"
                             for p in images))
    done = subprocess.run([sys.executable, ROOT / "export" / "peers.py", "--speech", sample_manifest, "--handwriting",
                           lines, "--dictionary", tmp_path / "none.dic", "--repeats", "1",
                           "--handwriting-model", ROOT / "recognize" / "models" / "copiste" / "model.onnx"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    greedy = json.loads(run_cli("evaluate", sample_manifest, "--json", "--decoder", "greedy", "--threads", "1").stdout)
    row = re.search(r"\| recognize, greedy \| (\d+\.\d+) % \| (\d+\.\d+) % \| (\d+\.\d+) \|", done.stdout)
    assert row and float(row[1]) == pytest.approx(100 * greedy["wer"], abs=0.005), done.stdout
    rows = re.findall(r"\| recognize(?: copiste/model.onnx)?, greedy \| (\d+\.\d+) % \| (\d+\.\d+) %", done.stdout)
    assert len(rows) == 3 and rows[1] == rows[2], done.stdout  # the other model raced beside the bundled one
    assert "PocketSphinx skipped" in done.stdout or "PocketSphinx is not installed" in done.stdout
    assert ("Tesseract 5, fra" in done.stdout) == (shutil.which("tesseract") is not None)
    assert done.stdout.count("| recognize, default decoding |") == 2


def test_the_gpu_seeds_script_trains_runs_side_by_side_and_summarizes_the_seeds(yesno_data, tmp_path):
    """experiments/gpu/seeds.sh, here on the CPU: two seeds of the yesno config, two epochs each."""
    common = f"train.train_manifest={yesno_data / 'train.jsonl'} train.dev_manifest={yesno_data / 'dev.jsonl'}"
    env = {**os.environ, "OUT": str(tmp_path / "out"), "BUDGET": "300", "DEVICE": "cpu", "WORKERS": "0",
           "COMMON": common, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", ROOT / "experiments" / "gpu" / "seeds.sh", ROOT / "configs" / "yesno.yaml",
                           "train.seed=1 train.epochs=2", "train.seed=2 train.epochs=2"],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    runs = sorted(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["train.seed-1_train.epochs-2", "train.seed-2_train.epochs-2"]
    for run in runs:
        assert len((run / "metrics.jsonl").read_text().splitlines()) == 2 and (run / "last.pt").exists()
        assert not list(run.glob("epoch*.pt"))
    assert "2 seeds of the same settings" in (tmp_path / "out" / "runs.txt").read_text()


def test_the_gpu_pack_script_carries_manifests_whose_files_read_as_the_originals(sample_manifest, tmp_path):
    """experiments/gpu/pack.py: audio as FLAC of the same samples, images copied, rows
    relative to the packed manifest; the bundled model reads the pack as the originals."""
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(json.dumps({"id": p.stem, "image": str(p), "text": p.with_suffix(".gt.txt").read_text().strip()})
                             + "\n" for p in sorted((ROOT / "tests" / "data" / "copiste").glob("*.png"))))
    done = subprocess.run([sys.executable, ROOT / "experiments" / "gpu" / "pack.py", sample_manifest, lines,
                           "-o", tmp_path / "pack"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    for original, packed, key in ((sample_manifest, tmp_path / "pack" / "samples.jsonl", "audio"),
                                  (lines, tmp_path / "pack" / "lines.jsonl", "image")):
        rows = [json.loads(line) for line in packed.read_text().splitlines()]
        assert all((packed.parent / row[key]).is_file() and not Path(row[key]).is_absolute() for row in rows)
        assert key == "image" or all(row[key].endswith(".flac") for row in rows)
        read = [json.loads(run_cli("evaluate", m, "--json", "--threads", "1").stdout) for m in (original, packed)]
        assert (read[0]["n"], read[0]["wer"], read[0]["cer"]) == (read[1]["n"], read[1]["wer"], read[1]["cer"])


@pytest.mark.parametrize("row, options", [("8 kHz", ["--sample-rate", "8000"]),
                                          ("pink noise, 20 dB SNR", ["--snr", "20", "--noise", "pink"]),
                                          ("a second of silence before and after", ["--pad", "1"])])
def test_the_an4_dev_copies_read_as_the_recipe_readme_says(row, options, an4_dev, tmp_path):
    """Stage 7's copies of the dev speakers (`recognize degrade`) read by the bundled model with
    its default decoding, against the recipe README's "Other channels" table."""
    copy = tmp_path / "copy.jsonl"
    assert run_cli("degrade", an4_dev, "-o", copy, *options).returncode == 0
    done = run_cli("evaluate", copy, "--json", "--threads", "1")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    readme = (ROOT / "recipes" / "an4" / "README.md").read_text()
    figures = re.search(rf"\| {row} \| (\d+\.\d+) % / (\d+\.\d+) % \|", readme).groups()
    wer, cer = (float(x) / 100 for x in figures)
    assert summary["wer"] == pytest.approx(wer, abs=0.002) and summary["cer"] == pytest.approx(cer, abs=0.002)
    card = (ROOT / "recognize" / "models" / "an4" / "MODEL_CARD.md").read_text()
    assert "| {} % | {} % |".format(*figures) in card  # the card's row says the same


def test_beam_speed_compares_this_beam_search_with_a_commits_on_the_same_log_probs(sample_manifest):
    """experiments/beam_speed.py against this checkout's own HEAD: the same outputs."""
    done = subprocess.run([sys.executable, ROOT / "experiments" / "beam_speed.py", "--against", "HEAD", "--model", "an4",
                           "--manifest", sample_manifest, "--repeats", "1"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert re.search(r"an4, 2 items from .*: HEAD [\d.]+ s, this checkout [\d.]+ s \(CPU\): [\d.]+x faster; 0 outputs "
                     r"differ", done.stdout), done.stdout
    scores = re.findall(r"(then|now) WER (\d+\.\d+) % CER (\d+\.\d+) %", done.stdout)
    default = json.loads(run_cli("evaluate", sample_manifest, "--json", "--threads", "1").stdout)
    assert [name for name, _, _ in scores] == ["then", "now"] and scores[0][1:] == scores[1][1:]
    assert float(scores[1][1]) == pytest.approx(100 * default["wer"], abs=0.005)


def test_the_flashlight_script_races_a_compiled_search_against_ours(line_manifest):
    """experiments/flashlight_beam.py on the committed line crops: our side scores what
    `recognize evaluate` scores with the model's LM and weights (its word list aside, as
    flashlight's lexicon-free search has none)."""
    pytest.importorskip("flashlight.lib.text", reason="the experiment's peer: pip install flashlight-text")
    done = subprocess.run([sys.executable, ROOT / "experiments" / "flashlight_beam.py", "--manifest", line_manifest,
                           "--repeats", "1"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    scores = dict((name, float(cer)) for name, cer in re.findall(r"(ours|flashlight) CER (\d+\.\d+) %", done.stdout))
    bundled = ROOT / "recognize" / "models" / "copiste"
    tuned = json.loads((bundled / "model.decoding.json").read_text())
    default = json.loads(run_cli("evaluate", line_manifest, "--json", "--threads", "1", "--lm", bundled / "lm.arpa.gz",
                                 "--alpha", tuned["alpha"], "--beta", tuned["beta"]).stdout)
    assert scores["ours"] == pytest.approx(100 * default["cer"], abs=0.005) and scores["flashlight"] < 30, done.stdout
    assert re.search(r"3 lines from .*: ours [\d.]+ s, flashlight [\d.]+ s \(CPU\): flashlight [\d.]+x as fast; "
                     r"[0-3] outputs differ", done.stdout), done.stdout


def test_int8_frontend_script_quantizes_the_convolutions_and_scores_the_bundled_file_as_evaluate_does(
        line_manifest, tmp_path):
    """experiments/int8_frontend.py on the committed line crops (calibration and validation alike)."""
    for split in ("train", "val"):
        shutil.copy(line_manifest, tmp_path / f"{split}.jsonl")
    done = subprocess.run([sys.executable, ROOT / "experiments" / "int8_frontend.py", "--data", tmp_path,
                           "--calibration", "3", "--repeats", "1"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "int8-frontend-3.onnx: 5 convolutions in int8" in done.stdout, done.stdout
    rows = {name: [float(x) for x in re.findall(r"(\d+\.\d+)", rest)]
            for name, rest in re.findall(r"^\| (bundled[^|]*|int8 frontend[^|]*) \|(.*)$", done.stdout, re.M)}
    assert set(rows) == {"bundled (fp32 frontend)", "int8 frontend, 3 lines"}, done.stdout
    greedy = json.loads(run_cli("evaluate", line_manifest, "--json", "--decoder", "greedy", "--threads", "1").stdout)
    assert rows["bundled (fp32 frontend)"][0] == pytest.approx(100 * greedy["cer"], abs=0.005)
    assert rows["bundled (fp32 frontend)"][-1] == 1.0 and rows["int8 frontend, 3 lines"][-1] > 0


def test_the_cpu_bf16_script_times_a_training_step_both_ways():
    """experiments/cpu_bf16.py on the Copiste model alone, one timed step each way."""
    done = subprocess.run([sys.executable, ROOT / "experiments" / "cpu_bf16.py", "--repeats", "1", "--only", "copiste"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.startswith("torch ") and "bf16 instructions: " in header
    fp32, bf16, ratio = re.fullmatch(r"configs/copiste.yaml \(as it is\): fp32 ([\d.]+) s, bf16 ([\d.]+) s a step: "
                                     r"([\d.]+)x", row).groups()
    assert float(fp32) > 0 and float(bf16) > 0 and float(ratio) == pytest.approx(float(fp32) / float(bf16), abs=0.06)


def test_the_lighting_script_writes_lit_copies_that_evaluate_reads(tmp_path):
    """experiments/pages/lighting.py on the sample page: a lamp's and a shadow's copy beside
    its ALTO, darker where the light does not reach, and scored by `recognize evaluate`."""
    done = subprocess.run([sys.executable, ROOT / "experiments" / "pages" / "lighting.py", ROOT / "samples",
                           "-o", tmp_path], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    scan = np.asarray(Image.open(ROOT / "samples" / "wikitexte_0063.jpg").convert("L"), dtype=np.float32)
    for name in ("lamp", "shadow"):
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["wikitexte_0063.jpg", "wikitexte_0063.xml"]
        lit = np.asarray(Image.open(tmp_path / name / "wikitexte_0063.jpg").convert("L"), dtype=np.float32)
        corner = (slice(-200, None), slice(-200, None))  # the bottom right, far from the lamp, under the shadow
        assert np.percentile(lit[corner], 75) < 0.7 * np.percentile(scan[corner], 75)
    scored = run_cli("evaluate", tmp_path / "shadow", "--json", "--decoder", "greedy", "--threads", 1)
    assert scored.returncode == 0 and json.loads(scored.stdout)["pages"] == 1


def test_the_level_lines_script_reads_lines_as_they_are_and_levelled(line_manifest):
    """experiments/copiste/level_lines.py on the committed real line images."""
    done = subprocess.run([sys.executable, ROOT / "experiments" / "copiste" / "level_lines.py", "--manifest",
                           line_manifest], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    *lines, timing = done.stdout.splitlines()
    rows = [re.fullmatch(r"(as they are|levelled), greedy: CER ([\d.]+) %, WER ([\d.]+) % \((\d+) lines\)", line)
            for line in lines]
    assert re.fullmatch(r"levelling: \d+\.\d\d ms a line \(CPU time\)", timing), timing
    assert [m.group(1) for m in rows] == ["as they are", "levelled"] and all(m.group(4) == "3" for m in rows)
    assert all(float(m.group(2)) < 30 for m in rows)  # the bundled model reads these real lines either way


def test_the_shapes_script_builds_untrained_models_the_benchmark_can_time(tmp_path, line_manifest):
    """experiments/copiste/shapes_speed.py: each shape the bundled model's settings with its
    changes, untrained, and a model `recognize` reads lines with."""
    done = subprocess.run([sys.executable, ROOT / "experiments" / "copiste" / "shapes_speed.py", "--out", tmp_path,
                           "model.hidden=128", "model.cnn_channels=[8,16,32,48,64] model.layers=2"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    light, narrow = tmp_path / "cnn_channels=8-16-32-48-64_layers=2.pt", tmp_path / "hidden=128.pt"
    assert f"--checkpoint {ROOT / 'recognize/models/copiste/model.pt'} {narrow} {light}" in done.stdout
    bundled = torch.load(ROOT / "recognize" / "models" / "copiste" / "model.pt", weights_only=True)
    for path, changes in ((narrow, {"hidden": 128}), (light, {"cnn_channels": [8, 16, 32, 48, 64], "layers": 2})):
        state = torch.load(path, weights_only=True)
        assert state["config"]["model"] == {**bundled["config"]["model"], **changes}
        assert state["config"]["image"] == bundled["config"]["image"] and state["alphabet"] == bundled["alphabet"]
        read = run_cli("evaluate", line_manifest, "--model", path, "--json", "--decoder", "greedy")
        assert read.returncode == 0 and json.loads(read.stdout)["n"] == 3, read.stderr


def test_the_found_vs_given_script_reads_the_sample_page_both_ways(tmp_path):
    """experiments/pages/found_vs_given.py on the committed real page: its two CERs are
    what `recognize evaluate` scores for the found lines and what reading its XML gives."""
    for name in ("wikitexte_0063.jpg", "wikitexte_0063.xml"):
        shutil.copy(ROOT / "samples" / name, tmp_path / name)
    done = subprocess.run([sys.executable, ROOT / "experiments" / "pages" / "found_vs_given.py", tmp_path,
                           "--worst", "2"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    found, given = map(float, re.search(r"all pages: found ([\d.]+) %, given ([\d.]+) % CER", done.stdout).groups())
    scored = json.loads(run_cli("evaluate", tmp_path, "--json", "--decoder", "greedy", "--threads", 1).stdout)
    assert found == pytest.approx(100 * scored["cer"], abs=0.005)
    assert 0 < given < 15 and len(re.findall(r"more errors found \| ref: ", done.stdout)) == 2
