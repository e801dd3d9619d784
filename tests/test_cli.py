"""The `recognize` command on real files, as a user runs it (a subprocess each)."""

import io
import json
import os
import re
import subprocess
import sys

import pytest
from conftest import LINES, ROOT, SAMPLE_TEXT, SAMPLES, run_cli, run_cli_loading

from recognize.cli.common import progress_bar
from recognize.evaluation.metrics import corpus_errors

WAVS = [SAMPLES / f"{k}.wav" for k in SAMPLE_TEXT]


def test_help_lists_the_commands():
    done = run_cli("--help")
    assert done.returncode == 0
    for command in ("transcribe", "evaluate", "train", "prepare"):
        assert command in done.stdout


def test_transcribe_with_the_bundled_model():
    done = run_cli("transcribe", *WAVS)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.strip().splitlines())
    hyps = [lines[str(w)] for w in WAVS]
    # samples from dev speakers the model never heard: it gets most words; the exact
    # dev-set scores (its model card's) are checked in test_recipes.py
    scores = corpus_errors(list(SAMPLE_TEXT.values()), hyps)
    assert scores["wer"] <= 0.5 and scores["cer"] <= 0.2, hyps  # a broken pipeline scores near 100 %


@pytest.mark.parametrize("model", ["", "recognize/models/an4/model.pt"])  # the ONNX file (default), the checkpoint
def test_the_bundled_model_reads_quiet_and_loud_recordings_as_recorded(tmp_path, model):
    """The bundled model scales every recording to its training speech level (features.level_db):
    30 dB quieter, or louder than full scale (float samples), it reads the same words."""
    import numpy as np
    import soundfile as sf

    from recognize.inputs.audio import load_audio

    wave = load_audio(WAVS[0], 16000)
    copies = []
    for gain_db in (-30, 20):
        copies.append(tmp_path / f"{gain_db}dB.wav")
        sf.write(copies[-1], wave * np.float32(10 ** (gain_db / 20)), 16000, subtype="FLOAT")
    done = run_cli("transcribe", WAVS[0], *copies, *(["--model", ROOT / model] if model else []))
    assert done.returncode == 0, done.stderr
    heard = [line.split(": ", 1)[1] for line in done.stdout.strip().splitlines()]
    assert heard[0] == SAMPLE_TEXT["cen8-mmtm-b"] and heard == [heard[0]] * 3, heard


def test_transcribing_loads_neither_the_corpus_downloader_nor_torch():
    """Every command's parser lists the corpora; only `recognize prepare` imports what fetches them.
    With stderr not a terminal no progress bar is drawn, so tqdm is not imported either."""
    done, modules = run_cli_loading(["tarfile", "urllib.request", "torch", "tqdm"],
                                    "transcribe", SAMPLES / "cen8-mmtm-b.wav", "--threads", "1")
    assert done.returncode == 0, done.stderr
    assert modules == [], done.stdout


def test_evaluating_into_a_pipe_loads_no_progress_bar(sample_manifest):
    done, modules = run_cli_loading(["tqdm"], "evaluate", sample_manifest, "--json", "--decoder", "greedy")
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[0])["n"] == 2, done.stderr
    assert modules == []


def test_a_progress_bar_is_drawn_only_on_a_terminal(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(3, "file") as bar:
        bar.update()
        bar.write("above the bar")
    assert "1/3" in terminal.getvalue() and capsys.readouterr().out == "above the bar\n"
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar(3, "file") as bar:
        bar.update()
        bar.write("no bar", file=sys.stderr)
    assert sys.stderr.getvalue() == "no bar\n" and capsys.readouterr().out == ""


def test_one_file_prints_just_the_text():
    done = run_cli("transcribe", SAMPLES / "cen8-mmtm-b.sph")
    assert done.returncode == 0 and len(done.stdout.strip().splitlines()) == 1
    assert ":" not in done.stdout and "TWENTY" in done.stdout


def test_bad_files_are_reported_and_the_rest_go_on(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    done = run_cli("transcribe", WAVS[0], tmp_path / "missing.wav", text, WAVS[1])
    assert done.returncode == 1
    assert len(done.stdout.strip().splitlines()) == 2  # both good files transcribed
    assert f"error: {tmp_path / 'missing.wav'}: no such file" in done.stderr
    assert f"{text}: not a readable audio file" in done.stderr
    assert "2 of 4 files failed" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_stands_for_its_audio_files(tmp_path):
    """The folder's audio files by name, the same text as each given alone; other files in
    it and its subfolders are left alone; a folder with no audio is one failure."""
    folder = tmp_path / "recordings"
    (folder / "below").mkdir(parents=True)
    for wav in WAVS:
        (folder / wav.name).write_bytes(wav.read_bytes())
    (folder / "below" / WAVS[0].name).write_bytes(WAVS[0].read_bytes())
    (folder / "notes.txt").write_text("not audio")
    (tmp_path / "empty").mkdir()
    done = run_cli("transcribe", folder, tmp_path / "empty")
    assert done.returncode == 1
    alone = {f"{folder / wav.name}: {run_cli('transcribe', wav).stdout.strip()}" for wav in WAVS}
    assert sorted(done.stdout.strip().splitlines()) == sorted(alone)
    assert done.stdout.strip().splitlines()[0].startswith(str(folder / sorted(w.name for w in WAVS)[0]))
    assert f"error: {tmp_path / 'empty'}: a folder with no audio files (.wav" in done.stderr
    assert f"1 of {len(WAVS) + 1} files failed" in done.stderr


def test_output_formats(tmp_path):
    done = run_cli("transcribe", *WAVS, "--output-dir", tmp_path, "--format", "json")
    assert done.returncode == 0, done.stderr
    for wav in WAVS:
        record = json.loads((tmp_path / f"{wav.stem}.json").read_text())
        assert record["text"] and len(record["words"]) == len(record["text"].split())
        starts = [w["start"] for w in record["words"]]
        assert starts == sorted(starts) and all(0 <= w["start"] < w["end"] <= record["duration"] + 0.1
                                                for w in record["words"])
        assert all(0 < w["confidence"] <= 1 for w in record["words"])
    for fmt, pattern in [("srt", r"^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n[A-Z ]+\n"),
                         ("vtt", r"^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n[A-Z ]+\n"),
                         ("tsv", r"^start\tend\tword\tconfidence\n(\d+\.\d{3}\t\d+\.\d{3}\t[A-Z]+\t[\d.]+\n)+$")]:
        done = run_cli("transcribe", WAVS[0], "--format", fmt)
        assert done.returncode == 0 and re.match(pattern, done.stdout), (fmt, done.stdout)
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temp files


def test_config_errors_are_one_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  layers: -1\n")
    done = run_cli("train", config, "--out", tmp_path / "run")
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {config}: model.layers: must be > 0"


def test_missing_model_is_one_line(tmp_path):
    done = run_cli("transcribe", WAVS[0], "--model", tmp_path / "nope.pt")
    assert done.returncode == 1 and done.stderr.strip() == f"error: {tmp_path / 'nope.pt'}: no such model file"


def test_evaluate_json_fields(tmp_path, sample_manifest):
    done = run_cli("evaluate", sample_manifest, "--json", "--report", tmp_path / "report")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("n", "wer", "cer", "substitutions", "deletions", "insertions", "wall_seconds", "audio_seconds", "rtfx"):
        assert key in summary
    assert summary["n"] == 2 and summary["audio_seconds"] == pytest.approx(5.2, abs=0.05)
    rows = [json.loads(l) for l in (tmp_path / "report" / "utterances.jsonl").read_text().splitlines()]
    assert {r["id"] for r in rows} == set(SAMPLE_TEXT)
    errors = sum(r["words"]["substitutions"] + r["words"]["deletions"] + r["words"]["insertions"] for r in rows)
    assert summary["substitutions"] + summary["deletions"] + summary["insertions"] == errors
    assert json.loads((tmp_path / "report" / "summary.json").read_text())["wer"] == summary["wer"]


def test_evaluate_goes_on_past_a_missing_file(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "audio": str(WAVS[0]), "text": SAMPLE_TEXT["cen8-mmtm-b"]}) + "\n"
                        + json.dumps({"id": "b", "audio": "gone.wav", "text": "NO"}) + "\n")
    done = run_cli("evaluate", manifest, "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["n"] == 1 and json.loads(done.stdout)["failed"] == 1
    assert f"b: {tmp_path / 'gone.wav'}: no such file" in done.stderr


def test_skip_existing_finishes_only_what_is_missing(tmp_path):
    first = run_cli("transcribe", WAVS[0], "--output-dir", tmp_path)
    assert first.returncode == 0, first.stderr
    done = tmp_path / f"{WAVS[0].stem}.txt"
    done.write_text("kept\n")  # a finished output must not be redone
    again = run_cli("transcribe", *WAVS, "--output-dir", tmp_path, "--skip-existing")
    assert again.returncode == 0, again.stderr
    assert "skipping 1 files already in" in again.stderr
    assert done.read_text() == "kept\n" and (tmp_path / f"{WAVS[1].stem}.txt").read_text().strip()


def test_silence_and_a_very_short_clip_are_transcribed(tmp_path):
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "silence.wav", np.zeros(16000, dtype=np.int16), 16000)
    wave, rate = sf.read(WAVS[0], dtype="int16")
    sf.write(tmp_path / "short.wav", wave[8000:8800], rate)  # 0.05 s
    done = run_cli("transcribe", tmp_path / "silence.wav", tmp_path / "short.wav", "--format", "json",
                   "--output-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    silence = json.loads((tmp_path / "silence.json").read_text())
    assert silence["text"] == "" and silence["words"] == [] and silence["duration"] == 1.0
    assert json.loads((tmp_path / "short.json").read_text())["duration"] == 0.05


def test_public_api_functions_are_not_shadowed_by_modules():
    """`recognize.transcribe` and `recognize.evaluate` stay the API functions after the
    modules behind the commands have been imported."""
    import recognize
    import recognize.cli.transcribe  # noqa: F401  the command modules, and the library modules they use
    import recognize.evaluation.evaluate  # noqa: F401

    assert callable(recognize.transcribe) and callable(recognize.evaluate) and callable(recognize.read)
    hyp = recognize.transcribe([WAVS[1]])[0]
    assert hyp.text and hyp.words


def test_an_interrupted_evaluation_resumes_without_redoing_finished_files(tmp_path):
    """Six real recordings in batches of two; Ctrl-C after the second batch; the rerun
    transcribes only the last two and reports what a run without interruption reports."""
    from recognize.evaluation.evaluate import evaluate_manifest
    from recognize.runtime.loading import load_model

    rows = []
    for i in range(3):
        for wav in WAVS:
            copy = tmp_path / f"{i}-{wav.name}"
            copy.write_bytes(wav.read_bytes())
            rows.append({"id": copy.stem, "audio": str(copy), "text": SAMPLE_TEXT[wav.stem]})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = load_model(ROOT / "recognize" / "models" / "an4" / "model.onnx", threads=1, decoder="greedy")
    journal = tmp_path / "report" / "progress.jsonl"
    batches = []

    def interrupt_after_two_batches(n):
        batches.append(n)
        if len(batches) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate_manifest(model, manifest, progress=interrupt_after_two_batches, journal=journal, batch_size=2)
    assert len(journal.read_text().splitlines()) == 1 + 4  # the header, then one line per finished file
    transcribed = []
    resumed = evaluate_manifest(model, manifest, progress=transcribed.append, journal=journal, batch_size=2)
    assert resumed["summary"]["resumed"] == 4 and transcribed == [4, 2]
    clean = evaluate_manifest(model, manifest, batch_size=2)
    assert resumed["utterances"] == clean["utterances"]
    assert {k: v for k, v in resumed["summary"].items() if k not in ("wall_seconds", "rtfx", "resumed")} == \
        {k: v for k, v in clean["summary"].items() if k not in ("wall_seconds", "rtfx")}

    done = run_cli("evaluate", manifest, "--report", tmp_path / "report", "--decoder", "greedy")  # the same journal
    assert done.returncode == 0 and "resuming: 6 files already done" in done.stderr, done.stderr
    assert not journal.exists() and (tmp_path / "report" / "summary.json").exists()

    batches.clear()
    with pytest.raises(KeyboardInterrupt):
        evaluate_manifest(model, manifest, progress=interrupt_after_two_batches, journal=journal, batch_size=2)
    beam = run_cli("evaluate", manifest, "--report", tmp_path / "report")  # another decoder: nothing reused
    assert beam.returncode == 0 and "resuming" not in beam.stderr and not journal.exists(), beam.stderr


def test_an_empty_reference_is_scored_not_a_crash(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "silent", "audio": str(WAVS[0]), "text": ""}) + "\n")
    done = run_cli("evaluate", manifest, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    heard = run_cli("transcribe", WAVS[0]).stdout.split()
    assert summary["reference_words"] == 0 and summary["insertions"] == len(heard) > 0 and summary["wer"] == len(heard)


@pytest.mark.parametrize("command", ["evaluate", "transcribe"])
def test_batch_size_sets_the_inputs_per_forward_pass(monkeypatch, sample_manifest, command):
    from recognize.cli import main
    from recognize.runtime.recognizer import Recognizer

    sizes, pad = [], Recognizer.pad

    def counted(self, feats):
        sizes.append(len(feats))
        return pad(self, feats)

    monkeypatch.setattr(Recognizer, "pad", counted)
    inputs = [sample_manifest] if command == "evaluate" else WAVS
    for batch_size in ("1", "16"):
        with pytest.raises(SystemExit) as done:
            main([command, *map(str, inputs), "--decoder", "greedy", "--batch-size", batch_size])
        assert done.value.code == 0
    assert sizes == [1, 1, 2]  # the two samples one at a time, then together


@pytest.mark.parametrize("args, why", [
    (["evaluate", "m.jsonl", "--batch-size", "0"], "--batch-size: must be at least 1, not 0"),
    (["evaluate", "m.jsonl", "--batch-size", "two"], "--batch-size: must be a whole number, not 'two'"),
    (["transcribe", "a.wav", "--decoder", "beam", "--beam-size", "0"], "--beam-size: must be at least 1, not 0"),
    (["transcribe", "a.wav", "--threads", "-1"], "--threads: must be at least 0, not -1"),
    (["shard", "m.jsonl", "--config", "c.yaml", "--out", "s", "--shard-size", "0"], "--shard-size: must be at least 1"),
    (["lm", "build", "t.txt", "-o", "lm.arpa", "--order", "0"], "--order: must be at least 1, not 0"),
])
def test_counts_out_of_range_are_one_line_usage_errors(args, why):
    done = run_cli(*args)
    assert done.returncode == 2 and why in done.stderr.strip().splitlines()[-1]


def test_a_model_of_the_other_kind_is_one_error_not_one_per_row(tmp_path, sample_manifest):
    image = sorted(LINES.glob("*.png"))[0]
    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps({"id": "l1", "image": str(image), "text": "x"}) + "\n")
    done = run_cli("evaluate", lines, "--model", ROOT / "recognize" / "models" / "an4" / "model.onnx")
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {lines}: a manifest of line images, but " \
                                  f"{ROOT / 'recognize' / 'models' / 'an4' / 'model.onnx'} is a speech model"
    done = run_cli("evaluate", sample_manifest, "--model", ROOT / "recognize" / "models" / "copiste" / "model.onnx")
    assert done.returncode == 1 and "a manifest of audio, but" in done.stderr and "handwriting model" in done.stderr


def test_a_reader_that_goes_away_is_no_traceback():
    """``recognize models | head -0``: stdout is a pipe nobody reads (closed before the start, so
    the write fails every time), which stops the command quietly."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "recognize", "models"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 1 and done.stderr == ""
