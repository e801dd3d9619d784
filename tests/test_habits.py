"""What a whisper or kraken user expects of the command line and the Python API: models
by name, the bare command, outputs on stdout and in folders, arrays and bytes, progress."""

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios

import pytest
import soundfile as sf
from conftest import ROOT, SAMPLE_TEXT, SAMPLES, run_cli

from recognize.cli import build_parser

WAVS = sorted(SAMPLES.glob("*.wav"))
LINE = ROOT / "tests" / "data" / "copiste" / "imp_wikitexte_0022_004.png"


def test_models_by_name_on_the_command_line_and_in_python():
    done = run_cli("transcribe", SAMPLES / "cen8-mmtm-b.wav", "--model", "an4")
    assert done.returncode == 0 and done.stdout.strip() == SAMPLE_TEXT["cen8-mmtm-b"]
    from recognize import load_model

    assert load_model("copiste").kind.name == "handwriting"
    unknown = run_cli("transcribe", WAVS[0], "--model", "an5")
    assert unknown.returncode == 1 and "an5: no such model file, and no bundled model of that name " \
        "(bundled: an4, copiste" in unknown.stderr


def test_models_says_what_each_bundled_model_is_for():
    models = {m["name"]: m for m in json.loads(run_cli("models", "--json").stdout)}
    assert models["an4"]["language"] == "English" and models["copiste"]["language"] == "French"
    assert models["an4"]["input"] == "16000 Hz audio" and models["copiste"]["input"] == "lines contrast stretched, levelled, scaled to 64 px"
    assert models["an4"]["symbols"] == 28 and 1 < models["copiste"]["megabytes"] < 20
    card = (ROOT / "recognize" / "models" / "an4" / "MODEL_CARD.md").read_text()
    assert f"**{models['an4']['accuracy']}**" in card
    text = run_cli("models").stdout
    assert "an4: speech, English, the default for `recognize transcribe`" in text and "accuracy: val WER" in text


def test_input_of_the_other_kind_points_to_the_other_command():
    image = run_cli("transcribe", LINE)
    assert image.returncode == 1 and "an image: handwriting is read with `recognize read`" in image.stderr
    audio = run_cli("read", WAVS[0])
    assert audio.returncode == 1 and "audio: speech is transcribed with `recognize transcribe`" in audio.stderr


def test_the_bare_command_prints_its_help_and_version_is_there():
    bare = run_cli()
    assert bare.returncode == 0 and bare.stdout.startswith("usage: recognize") and "transcribe" in bare.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == "recognize 0.1.0"


def test_subtitles_of_several_files_go_to_stdout_under_their_names_or_to_files_with_a_word(tmp_path):
    done = run_cli("transcribe", *WAVS, "--format", "srt", "--decoder", "greedy")
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("==>")] == [f"==> {w} <==" for w in WAVS]
    assert done.stdout.count(" --> ") == len(WAVS)  # a cue each (the samples are short)
    written = run_cli("transcribe", *WAVS, "--format", "vtt", "--output-dir", tmp_path / "subs", "--decoder", "greedy")
    assert written.returncode == 0 and written.stdout == ""
    assert written.stderr.strip() == f"wrote 2 vtt files to {tmp_path / 'subs'}"
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == ["cen7-fjam-b.vtt", "cen8-mmtm-b.vtt"]


def test_every_format_at_once_as_whispers_output_format_all(tmp_path):
    out = tmp_path / "all"
    done = run_cli("transcribe", *WAVS, "--format", "all", "--output-dir", out, "--decoder", "greedy")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"wrote 10 txt/json/srt/vtt/tsv files to {out}"
    for fmt in ("txt", "json", "srt", "vtt", "tsv"):  # each file as the format alone writes it
        alone = run_cli("transcribe", WAVS[0], "--format", fmt, "--decoder", "greedy")
        assert (out / f"{WAVS[0].stem}.{fmt}").read_text(encoding="utf-8") == alone.stdout
    (out / f"{WAVS[1].stem}.vtt").unlink()  # a rerun redoes the input that misses a format, only it
    again = run_cli("transcribe", *WAVS, "--format", "all", "--output-dir", out, "--skip-existing", "--decoder", "greedy")
    assert again.returncode == 0 and "skipping 1 files already in" in again.stderr
    assert (out / f"{WAVS[1].stem}.vtt").is_file() and "wrote 5 " in again.stderr
    nowhere = run_cli("transcribe", WAVS[0], "--format", "all")
    assert nowhere.returncode == 1 and nowhere.stderr.strip() == ("error: --format all writes a file per format: "
                                                                 "give --output-dir DIR")


def test_inputs_that_would_overwrite_each_other_are_named(tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(WAVS[0], tmp_path / "a" / WAVS[0].name)
    done = run_cli("transcribe", WAVS[0], tmp_path / "a" / WAVS[0].name, "--output-dir", tmp_path / "out")
    assert done.returncode == 1
    assert f"{WAVS[0]} and {tmp_path / 'a' / WAVS[0].name}" in done.stderr and not (tmp_path / "out").exists()


def test_compare_says_when_it_cuts_its_list_and_its_help_has_no_doubled_percent(tmp_path):
    from recognize.evaluation.compare import format_comparison

    change = {"id": "x", "a": 2, "b": 1, "reference": "r", "hypothesis_a": "a", "hypothesis_b": "b"}
    rates = {"a": 0.1, "b": 0.05, "delta": -0.05, "interval": [-0.1, 0.0], "p": 0.01}
    result = {"a": "A", "b": "B", "n": 12, "only_a": 0, "only_b": 0, "wer": rates, "cer": rates,
              "better": [change] * 12, "worse": [change]}
    text = format_comparison(result)
    assert "12 utterances better in B (the 10 that changed most; --json lists all):" in text
    assert "1 utterances worse in B:" in text and text.count("  x: 2 -> 1") == 11
    assert "%%" not in run_cli("compare", "--help").stdout


def test_the_python_api_takes_arrays_bytes_and_decoder_options():
    from recognize import transcribe

    wave, rate = sf.read(WAVS[0], dtype="float32")
    from_file, from_array, from_bytes = transcribe([WAVS[0], wave, WAVS[0].read_bytes()], sample_rate=rate)
    assert from_file.text == from_array.text == from_bytes.text == run_cli("transcribe", WAVS[0]).stdout.strip()
    greedy = transcribe([WAVS[0]], decoder="greedy")[0]
    assert greedy.text == run_cli("transcribe", WAVS[0], "--decoder", "greedy").stdout.strip()
    with pytest.raises(Exception, match="sample_rate"):
        transcribe([wave])
    eight = transcribe([wave[::2]], sample_rate=rate // 2, decoder="greedy")[0]  # resampled to the model's rate
    assert eight.text


def test_align_json_names_each_row(sample_manifest):
    done = run_cli("align", sample_manifest)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == list(SAMPLE_TEXT)


def test_progress_shows_on_a_terminal_and_not_in_a_pipe():
    piped = run_cli("transcribe", *WAVS, "--decoder", "greedy")
    assert "file/s" not in piped.stderr and "\r" not in piped.stderr
    main, child = pty.openpty()  # stderr on a terminal of 100 x 24 characters
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "recognize", "transcribe", *map(str, WAVS), "--decoder",
                                "greedy"], stdin=child, stdout=subprocess.PIPE, stderr=child)
    os.close(child)
    seen = b""
    while True:  # read the terminal while it runs (a full terminal buffer would stall it)
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert process.wait(timeout=300) == 0 and b"file/s" in seen and b"2/2" in seen, seen


def test_every_commands_help_fits_80_columns():
    env = {**os.environ, "COLUMNS": "80"}
    commands = [a.dest for a in build_parser()._subparsers._group_actions[0]._choices_actions]
    assert len(commands) >= 17
    for command in [[]] + [[c] for c in commands] + [["lm", "build"]]:
        done = subprocess.run([sys.executable, "-m", "recognize", *command, "--help"], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, command
        wide = [line for line in done.stdout.splitlines() if len(line) > 80]
        assert not wide, (command, wide)
