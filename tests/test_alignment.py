"""Forced alignment: the Viterbi path against brute force, word times that land on
the right side of a known boundary in real audio, character x-positions on a real
line, and rows that cannot be aligned reported while the rest go on."""

import itertools
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import LINES, ROOT, SAMPLE_TEXT, SAMPLES, run_cli

from recognize.decoding.alignment import viterbi_path


def collapse(path):
    """A frame-level CTC path -> its labels (merge repeats, drop blanks)."""
    return [label for label, _ in itertools.groupby(path) if label != 0]


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_finds_the_best_path_that_spells_the_labels(seed):
    rng = np.random.default_rng(seed)
    frames, vocab = 6, 3
    log_probs = np.log(rng.dirichlet(np.ones(vocab), size=frames))
    labels = rng.integers(1, vocab, size=rng.integers(1, 4))
    spelled = [p for p in itertools.product(range(vocab), repeat=frames) if collapse(p) == list(labels)]
    best = max(spelled, key=lambda p: log_probs[np.arange(frames), p].sum())
    positions = viterbi_path(log_probs, labels)
    path = np.where(positions >= 0, labels[np.maximum(positions, 0)], 0)
    assert collapse(path) == list(labels)
    assert log_probs[np.arange(frames), path].sum() == pytest.approx(log_probs[np.arange(frames), best].sum())
    assert np.all(np.diff(positions[positions >= 0]) >= 0)  # labels in order


def test_a_repeated_label_needs_a_blank_between():
    log_probs = np.log(np.full((3, 2), 0.5))
    assert viterbi_path(log_probs, np.array([1, 1])).tolist() == [0, -1, 1]
    with pytest.raises(ValueError, match="2 characters do not fit in 2 output frames"):
        viterbi_path(log_probs[:2], np.array([1, 1]))


def test_words_fall_on_their_side_of_a_known_boundary_in_real_audio(tmp_path):
    first, rate = sf.read(SAMPLES / "cen8-mmtm-b.wav")
    second, _ = sf.read(SAMPLES / "cen7-fjam-b.wav")
    sf.write(tmp_path / "both.wav", np.concatenate([first, second]), rate)
    boundary, total = len(first) / rate, (len(first) + len(second)) / rate
    text = f"{SAMPLE_TEXT['cen8-mmtm-b']} {SAMPLE_TEXT['cen7-fjam-b']}"
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "both", "audio": "both.wav", "text": text}) + "\n")
    done = run_cli("align", manifest)
    assert done.returncode == 0, done.stderr
    words = json.loads(done.stdout)["words"]
    assert [w["word"] for w in words] == text.split()
    split = len(SAMPLE_TEXT["cen8-mmtm-b"].split())
    assert all(w["end"] <= boundary + 0.05 for w in words[:split])
    assert all(w["start"] >= boundary - 0.05 for w in words[split:])
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and 0 <= starts[0] and words[-1]["end"] <= total
    assert all(w["start"] < w["end"] for w in words)


def test_a_line_image_gets_each_character_x_range(tmp_path):
    image = sorted(LINES.glob("*.png"))[0]
    text = image.with_suffix(".gt.txt").read_text(encoding="utf-8").strip()
    manifest = tmp_path / "lines.jsonl"
    manifest.write_text(json.dumps({"id": "l", "image": str(image), "text": text}, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    done = run_cli("align", manifest)  # the bundled handwriting model
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    chars = record["characters"]
    assert "".join(c["char"] for c in chars) == text
    assert all(0 <= c["x0"] < c["x1"] <= record["width"] for c in chars)
    assert [c["x0"] for c in chars] == sorted(c["x0"] for c in chars)
    refused = run_cli("align", manifest, "--format", "srt")
    assert refused.returncode == 1 and "--format srt is for speech" in refused.stderr


def test_rows_that_cannot_be_aligned_are_reported_and_the_rest_written(tmp_path):
    rows = [
        {"id": "good", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": SAMPLE_TEXT["cen8-mmtm-b"]},
        {"id": "accent", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": "AUGUST TWENTY FOURTH ÉTÉ"},
        {"id": "gone", "audio": str(tmp_path / "gone.wav"), "text": "YES"},
        {"id": "too-long", "audio": str(SAMPLES / "cen7-fjam-b.wav"), "text": " ".join(["SEVEN"] * 60)},
    ]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    done = run_cli("align", manifest, "--format", "srt", "--output-dir", out)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["good.srt"]
    assert "AUGUST TWENTY FOURTH" in (out / "good.srt").read_text()
    assert "accent (" in done.stderr and "characters not in the model's alphabet: É" in done.stderr
    assert f"gone ({tmp_path / 'gone.wav'}): no such file" in done.stderr
    assert "too-long (" in done.stderr and "characters do not fit in" in done.stderr
    assert "3 of 4 files failed" in done.stderr


def test_the_python_api_aligns_pairs_and_names_a_pair_that_cannot_be(tmp_path):
    from recognize import align
    from recognize.errors import RecognizeError

    hyp, = align([(SAMPLES / "cen7-fjam-b.wav", SAMPLE_TEXT["cen7-fjam-b"])])
    assert [w.word for w in hyp.words] == SAMPLE_TEXT["cen7-fjam-b"].split() and hyp.words[0].start > 0
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "x", "audio": str(SAMPLES / "cen7-fjam-b.wav"),
                                    "text": SAMPLE_TEXT["cen7-fjam-b"]}) + "\n")
    cli = json.loads(run_cli("align", manifest).stdout)["words"]
    assert [(w["word"], w["start"], w["end"]) for w in cli] == [(w.word, w.start, w.end) for w in hyp.words]
    with pytest.raises(RecognizeError, match=r"cen8-mmtm-b\.wav: characters not in the model's alphabet: É"):
        align([(SAMPLES / "cen7-fjam-b.wav", "SIX"), (SAMPLES / "cen8-mmtm-b.wav", "CAFÉ")])


def test_a_model_of_the_other_kind_is_one_line(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "audio": str(SAMPLES / "cen7-fjam-b.wav"), "text": "SIX"}) + "\n")
    done = run_cli("align", manifest, "--model", ROOT / "recognize" / "models" / "copiste" / "model.onnx")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "a manifest of audio, but" in done.stderr and "is a handwriting model" in done.stderr


def test_a_recording_over_a_minute_is_refused_by_its_header(tmp_path):
    wave, rate = sf.read(SAMPLES / "cen8-mmtm-b.wav")
    sf.write(tmp_path / "long.wav", np.tile(wave, int(61 * rate / len(wave)) + 1), rate)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "long", "audio": "long.wav", "text": "AUGUST"}) + "\n")
    done = run_cli("align", manifest)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "long (" in done.stderr and "longer than 60 s; alignment reads up to 60 s at a time" in done.stderr
