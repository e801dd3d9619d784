"""`recognize prepare kaldi`: a Kaldi/ESPnet data directory of the committed real AN4
samples becomes a manifest that evaluates with the bundled model; entries it cannot
read are skipped with their line; segments are cut into files of exactly their samples."""

import json

import numpy as np
import soundfile as sf
from conftest import SAMPLE_TEXT, SAMPLES, run_cli


def write_data_dir(folder, scp: list[str], extra: dict[str, str] | None = None):
    folder.mkdir(parents=True)
    (folder / "wav.scp").write_text("".join(line + "\n" for line in scp))
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)


def test_a_kaldi_data_dir_becomes_a_manifest_that_evaluates(tmp_path):
    work = tmp_path / "recipe"  # Kaldi's paths are relative to the recipe root, where commands run
    (work / "audio").mkdir(parents=True)
    wave, rate = sf.read(SAMPLES / "cen7-fjam-b.wav")
    sf.write(work / "audio" / "cen7-fjam-b.flac", wave, rate)
    write_data_dir(work / "data" / "test", [
        f"cen8-mmtm-b sph2pipe -f wav -p -c 1 {SAMPLES / 'cen8-mmtm-b.sph'} |",
        "cen7-fjam-b flac -c -d -s audio/cen7-fjam-b.flac |",
        f"plain {SAMPLES / 'cen8-mmtm-b.wav'}",
        f"channel2 sph2pipe -f wav -p -c 2 {SAMPLES / 'cen8-mmtm-b.sph'} |",
        "remote curl -s http://example.org/a.wav |",
        "gone audio/gone.wav",
        f"untranscribed {SAMPLES / 'cen8-mmtm-b.wav'}",
    ], {
        "text": "".join(f"{k} {v}\n" for k, v in SAMPLE_TEXT.items())
        + f"plain {SAMPLE_TEXT['cen8-mmtm-b']}\nchannel2 X\nremote X\ngone X\n",
        "utt2spk": "cen8-mmtm-b mmtm\ncen7-fjam-b fjam\nplain mmtm\n",
        "spk2gender": "mmtm m\nfjam f\n",
    })
    done = run_cli("prepare", "kaldi", "--source", "data/test", "--out", "manifests", cwd=work)
    assert done.returncode == 0, done.stderr
    skipped = done.stderr.splitlines()
    assert len(skipped) == 4, done.stderr
    assert "wav.scp:4: 'sph2pipe -c 2' changes what is read" in skipped[0]
    assert "wav.scp:5: reads the output of 'curl'" in skipped[1]
    assert "wav.scp:6:" in skipped[2] and "gone.wav: no such file" in skipped[2]
    assert "wav.scp:7: 'untranscribed' has no line in text" in skipped[3]

    manifest = work / "manifests" / "test.jsonl"
    rows = {r["id"]: r for r in map(json.loads, manifest.read_text().splitlines())}
    assert list(rows) == ["cen8-mmtm-b", "cen7-fjam-b", "plain"]
    assert rows["cen7-fjam-b"]["audio"] == "../audio/cen7-fjam-b.flac"  # relative to the manifest
    assert rows["cen7-fjam-b"]["gender"] == "f" and rows["plain"]["speaker"] == "mmtm"
    assert rows["cen8-mmtm-b"]["duration"] == round(sf.info(SAMPLES / "cen8-mmtm-b.sph").duration, 3)

    evaluated = run_cli("evaluate", manifest, "--decoder", "greedy", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    summary = json.loads(evaluated.stdout)
    assert summary["n"] == 3 and summary["failed"] == 0 and summary["wer"] < 0.3


def test_segments_are_cut_into_files_of_exactly_their_samples(tmp_path):
    first, rate = sf.read(SAMPLES / "cen8-mmtm-b.wav", dtype="int16")
    second, _ = sf.read(SAMPLES / "cen7-fjam-b.wav", dtype="int16")
    recording = tmp_path / "session.wav"  # two real utterances in one recording
    sf.write(recording, np.concatenate([first, second]), rate)
    boundary, end = len(first) / rate, (len(first) + len(second)) / rate
    folder = tmp_path / "data" / "train"
    write_data_dir(folder, [f"session {recording}"], {
        "segments": f"cen8-mmtm-b session 0 {boundary}\ncen7-fjam-b session {boundary} -1\n"
                    f"late session {end + 1} {end + 2}\nelsewhere nosuch 0 1\n",
        "text": "".join(f"{k} {v}\n" for k, v in SAMPLE_TEXT.items()) + "late X\nelsewhere X\n",
        "utt2spk": "cen8-mmtm-b mmtm\ncen7-fjam-b fjam\n",
    })
    out = tmp_path / "out"
    done = run_cli("prepare", "kaldi", "--source", folder, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "segments:3:" in done.stderr and "is empty in" in done.stderr
    assert "segments:4: recording 'nosuch' is not in wav.scp" in done.stderr
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["cen8-mmtm-b", "cen7-fjam-b"]
    assert rows[0]["audio"] == "train/cen8-mmtm-b.flac" and rows[1]["speaker"] == "fjam"
    for row, original in zip(rows, (first, second)):
        samples, cut_rate = sf.read(out / row["audio"], dtype="int16")
        assert cut_rate == rate and np.array_equal(samples, original)
        assert row["duration"] == round(len(original) / rate, 3)

    written = (out / rows[0]["audio"]).stat().st_mtime_ns  # a second run keeps the files it wrote whole
    assert run_cli("prepare", "kaldi", "--source", folder, "--out", out).returncode == 0
    assert (out / rows[0]["audio"]).stat().st_mtime_ns == written

    evaluated = run_cli("evaluate", out / "train.jsonl", "--decoder", "greedy", "--json")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["n"] == 2, evaluated.stderr


def test_a_malformed_segments_line_is_one_line(tmp_path):
    folder = tmp_path / "data" / "train"
    write_data_dir(folder, [f"rec1 {SAMPLES / 'cen8-mmtm-b.wav'}"], {"segments": "utt1 rec1 zero 1.5\n"})
    done = run_cli("prepare", "kaldi", "--source", folder, "--out", tmp_path / "out")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "segments:1: expected '<utt> <recording> <start> <end>'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_folder_without_wav_scp_or_readable_entries_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    done = run_cli("prepare", "kaldi", "--source", tmp_path / "empty", "--out", tmp_path / "out")
    assert done.returncode == 1 and "not a Kaldi data directory (no wav.scp)" in done.stderr
    write_data_dir(tmp_path / "bad", ["a missing.wav"])
    done = run_cli("prepare", "kaldi", "--source", tmp_path / "bad", "--out", tmp_path / "out")
    assert done.returncode == 1 and "no utterance could be read (1 skipped)" in done.stderr
    assert not (tmp_path / "out").exists()
