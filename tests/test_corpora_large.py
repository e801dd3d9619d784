"""LibriSpeech and IAM preparation on miniature copies in the releases' own layouts,
built from the committed real recordings and line images (no network here)."""

import json
import shutil
import tarfile

import pytest
import soundfile as sf
from conftest import LINES, SAMPLE_TEXT, SAMPLES, run_cli

from recognize.corpora import iam, librispeech
from recognize.errors import RecognizeError
from recognize.inputs.audio import load_audio


def mini_librispeech(root):
    """LibriSpeech/{dev-clean,train-clean-100}/<speaker>/<chapter>/ with FLAC and trans.txt."""
    layout = {"dev-clean": ("1272", "128104"), "train-clean-100": ("19", "198")}
    for (part, (speaker, chapter)), (stem, text) in zip(layout.items(), SAMPLE_TEXT.items()):
        folder = root / "LibriSpeech" / part / speaker / chapter
        folder.mkdir(parents=True)
        utt = f"{speaker}-{chapter}-0000"
        sf.write(folder / f"{utt}.flac", load_audio(SAMPLES / f"{stem}.wav", 16000), 16000)
        (folder / f"{speaker}-{chapter}.trans.txt").write_text(f"{utt} {text}\n")
    return root


def test_librispeech_from_a_folder_and_from_an_archive(tmp_path):
    source = mini_librispeech(tmp_path / "release")
    paths = librispeech.prepare(str(source), tmp_path / "out")
    assert set(paths) == {"dev-clean", "train-clean-100"}
    (row,) = [json.loads(line) for line in paths["dev-clean"].read_text().splitlines()]
    assert row["id"] == "1272-128104-0000" and row["text"] == SAMPLE_TEXT["cen8-mmtm-b"]
    assert (row["speaker"], row["chapter"]) == ("1272", "128104") and row["duration"] == pytest.approx(2.8, abs=0.5)

    with tarfile.open(tmp_path / "dev-clean.tar.gz", "w:gz") as tar:  # as OpenSLR ships one part
        tar.add(source / "LibriSpeech" / "dev-clean", "LibriSpeech/dev-clean")
    done = run_cli("prepare", "librispeech", "--source", tmp_path / "dev-clean.tar.gz", "--out", tmp_path / "out2")
    assert done.returncode == 0, done.stderr
    assert "dev-clean: 1 rows" in done.stdout
    done = run_cli("evaluate", tmp_path / "out2" / "dev-clean.jsonl", "--json")  # the bundled speech model reads it
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 1

    next(source.rglob("*.flac")).unlink()
    with pytest.raises(RecognizeError, match=r"trans.txt:1: .*\.flac is missing"):
        librispeech.prepare(str(source), tmp_path / "out3")
    with pytest.raises(RecognizeError, match="no LibriSpeech part"):
        librispeech.prepare(str(tmp_path / "out"), tmp_path / "out4")


def mini_iam(root, with_splits=True):
    """ascii/lines.txt, lines/<a>/<form>/<line>.png and the task's split files."""
    (root / "ascii").mkdir(parents=True)
    entries, ids = [], []
    for n, png in enumerate(sorted(LINES.glob("*.png"))):
        line_id = f"a01-000u-{n:02d}"
        target = root / "lines" / "a01" / "a01-000u" / f"{line_id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, target)
        words = png.with_suffix(".gt.txt").read_text(encoding="utf-8").split()
        entries.append(f"{line_id} ok 154 19 408 746 1661 89 {'|'.join(words)}")
        ids.append(line_id)
    (root / "ascii" / "lines.txt").write_text("#--- IAM lines ---\n" + "\n".join(entries) + "\n", encoding="utf-8")
    if with_splits:
        task = root / "task"
        task.mkdir()
        for name, lines in (("trainset.txt", ids[:1]), ("validationset1.txt", ids[1:2]),
                            ("validationset2.txt", []), ("testset.txt", ids[2:])):
            (task / name).write_text("".join(i + "\n" for i in lines))
    return root, ids


def test_iam_with_the_task_split_and_without(tmp_path):
    source, ids = mini_iam(tmp_path / "iam")
    paths = iam.prepare(str(source), tmp_path / "out")
    assert set(paths) == {"train", "val1", "val2", "test"}
    rows = {name: [json.loads(line) for line in p.read_text().splitlines()] for name, p in paths.items()}
    assert [r["id"] for r in rows["train"]] == ids[:1] and [r["id"] for r in rows["test"]] == ids[2:]
    first = sorted(LINES.glob("*.png"))[0].with_suffix(".gt.txt").read_text(encoding="utf-8")
    assert rows["train"][0]["text"] == " ".join(first.split())
    done = run_cli("evaluate", paths["test"], "--json")  # the bundled handwriting model reads them
    assert done.returncode == 0, done.stderr

    plain, _ = mini_iam(tmp_path / "plain", with_splits=False)
    assert set(iam.prepare(str(plain), tmp_path / "out2")) == {"all"}
    with pytest.raises(RecognizeError, match="registration"):
        iam.prepare(iam.URL, tmp_path / "out3")
