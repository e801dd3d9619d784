"""`recognize degrade`: robustness copies of a speech manifest, on the real AN4 samples."""

import json

import numpy as np
import soundfile as sf
from conftest import run_cli


def copies(tmp_path, manifest, name, *options) -> list[dict]:
    out = tmp_path / f"{name}.jsonl"
    done = run_cli("degrade", manifest, "-o", out, *options)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) | {"path": out.parent / json.loads(line)["audio"]} for line in out.read_text().splitlines()]


def test_copies_at_8_khz_are_8_khz_files_of_the_same_length(tmp_path, sample_manifest):
    originals = [json.loads(line) for line in sample_manifest.read_text().splitlines()]
    rows = copies(tmp_path, sample_manifest, "phone", "--sample-rate", 8000)
    assert [r["id"] for r in rows] == [r["id"] for r in originals] and all(r["text"] for r in rows)
    for row, original in zip(rows, originals):
        info, source = sf.info(row["path"]), sf.info(original["audio"])
        assert info.samplerate == 8000 and info.subtype == "PCM_16" and abs(info.duration - source.duration) < 0.01
        assert row["duration"] == round(info.duration, 3)


def test_noise_is_added_at_the_asked_snr_reproducibly_and_silence_around_the_speech(tmp_path, sample_manifest):
    clean = copies(tmp_path, sample_manifest, "clean")
    for snr in (20, 10):
        noisy = copies(tmp_path, sample_manifest, f"pink{snr}", "--snr", snr, "--noise", "pink")
        for a, b in zip(clean, noisy):
            x, y = sf.read(a["path"])[0], sf.read(b["path"])[0]
            measured = 10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))
            assert abs(measured - snr) < 0.3, (b["id"], measured)  # 16-bit rounding on both
    again = copies(tmp_path, sample_manifest, "again", "--snr", 10, "--noise", "pink")
    assert all(a["path"].read_bytes() == b["path"].read_bytes() for a, b in zip(again, copies(tmp_path, sample_manifest, "pink10", "--snr", 10, "--noise", "pink")))
    padded = copies(tmp_path, sample_manifest, "pad", "--pad", 1)
    for a, b in zip(clean, padded):
        x, y = sf.read(a["path"])[0], sf.read(b["path"])[0]
        assert len(y) == len(x) + 32000 and not y[:16000].any() and not y[-16000:].any()
        assert np.array_equal(y[16000:-16000], x)


def test_an_unreadable_recording_is_skipped_and_the_others_are_copied(tmp_path, sample_manifest):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nothing")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(sample_manifest.read_text() + json.dumps({"id": "bad", "audio": str(broken), "text": "X"}) + "\n")
    out = tmp_path / "out.jsonl"
    done = run_cli("degrade", manifest, "-o", out, "--snr", 20)
    assert done.returncode == 0 and "bad" not in out.read_text()
    assert [line for line in done.stderr.splitlines() if str(broken) in line] and "Traceback" not in done.stderr
    assert run_cli("degrade", manifest, "-o", out, "--pad", -1).stderr.strip() == "error: --pad -1.0: must be between 0 and 60 seconds"
