"""`recognize prepare kaldi`: a Kaldi/ESPnet data directory of the committed real AN4
samples becomes a manifest that evaluates with the bundled model; entries it cannot
read are skipped with their line, and segments are refused in one line."""

import json

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


def test_segments_are_refused_in_one_line(tmp_path):
    folder = tmp_path / "data" / "train"
    write_data_dir(folder, [f"rec1 {SAMPLES / 'cen8-mmtm-b.wav'}"],
                   {"segments": "utt1 rec1 0.0 1.5\n", "text": "utt1 AUGUST\n"})
    done = run_cli("prepare", "kaldi", "--source", folder, "--out", tmp_path / "out")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "segments" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_folder_without_wav_scp_or_readable_entries_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    done = run_cli("prepare", "kaldi", "--source", tmp_path / "empty", "--out", tmp_path / "out")
    assert done.returncode == 1 and "not a Kaldi data directory (no wav.scp)" in done.stderr
    write_data_dir(tmp_path / "bad", ["a missing.wav"])
    done = run_cli("prepare", "kaldi", "--source", tmp_path / "bad", "--out", tmp_path / "out")
    assert done.returncode == 1 and "no utterance could be read (1 skipped)" in done.stderr
    assert not (tmp_path / "out").exists()
