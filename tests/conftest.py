"""Shared test fixtures: the committed real samples, and the corpora in ../shared/data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"
YESNO_ARCHIVE = SHARED_DATA / "yesno" / "waves_yesno.tar.gz"
AN4_ARCHIVE = SHARED_DATA / "an4" / "an4_train_sphere.tar.gz"

# The committed AN4 samples with their transcripts (samples/README.md).
SAMPLE_TEXT = {
    "cen8-mmtm-b": "AUGUST TWENTY FOURTH NINETEEN FIFTY TWO",
    "cen7-fjam-b": "SIX SIX FOUR SEVEN TWO NINE THREE",
}


# `python -c PEAK recognize-args...`: runs the command, then prints its peak resident memory
# in MB as stderr's last line, of this process alone: VmHWM starts afresh at exec, while
# getrusage's ru_maxrss carries over the (large) pytest process the child was forked from.
PEAK = """
import re, sys
from recognize.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024, file=sys.stderr)
"""


def needs(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"needs the real corpus at {path} (../shared/data)")


def run_cli(*args, cwd=None):
    """Run ``python -m recognize ARGS``; returns the CompletedProcess (text mode)."""
    return subprocess.run([sys.executable, "-m", "recognize", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


# `python -c LOADED '["module", ...]' recognize-args...`: runs the command, then prints as
# stdout's last line which of those modules it imported (a JSON list).
LOADED = """
import json, sys
from recognize.cli import main
names = json.loads(sys.argv[1])
try:
    main(sys.argv[2:])
finally:
    print(json.dumps(sorted(name for name in names if name in sys.modules)))
"""


def run_cli_loading(modules: list[str], *args):
    """Run the ``recognize ARGS`` command in the repository root; returns the
    CompletedProcess and which of ``modules`` it imported, sorted."""
    done = subprocess.run([sys.executable, "-c", LOADED, json.dumps(modules), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    lines = done.stdout.splitlines()
    return done, json.loads(lines[-1]) if lines else None


@pytest.fixture(scope="session")
def sample_manifest(tmp_path_factory) -> Path:
    """A manifest of the committed real AN4 samples (relative paths)."""
    folder = tmp_path_factory.mktemp("samples")
    lines = [json.dumps({"id": k, "audio": str(SAMPLES / f"{k}.wav"), "text": v}) for k, v in SAMPLE_TEXT.items()]
    path = folder / "samples.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def yesno_data(tmp_path_factory) -> Path:
    """The real yesno corpus prepared through the CLI: a folder with train.jsonl and dev.jsonl."""
    if not YESNO_ARCHIVE.exists():
        pytest.skip(f"needs the real yesno corpus at {YESNO_ARCHIVE}")
    data = tmp_path_factory.mktemp("yesno") / "data"
    done = run_cli("prepare", "yesno", "--source", YESNO_ARCHIVE, "--out", data)
    assert done.returncode == 0, done.stderr
    return data


@pytest.fixture(scope="session")
def yesno_run(yesno_data) -> Path:
    """The yesno recipe end to end through the CLI: prepare the real archive, train.
    Returns the work folder: data/ (manifests) and run/ (best.pt, last.pt, metrics.jsonl, config.yaml)."""
    work = yesno_data.parent
    done = run_cli("train", ROOT / "configs" / "yesno.yaml", "--out", work / "run",
                   "--set", f"train.train_manifest={work / 'data' / 'train.jsonl'}",
                   "--set", f"train.dev_manifest={work / 'data' / 'dev.jsonl'}", "--set", "train.threads=1")
    assert done.returncode == 0, done.stderr
    return work


@pytest.fixture(scope="session")
def an4_dev(tmp_path_factory) -> Path:
    """The AN4 dev manifest (91 utterances of 7 held-aside training speakers), prepared
    from the real archive."""
    if not AN4_ARCHIVE.exists():
        pytest.skip(f"needs the real AN4 corpus at {AN4_ARCHIVE}")
    from recognize.corpora import an4

    return an4.prepare(str(AN4_ARCHIVE), tmp_path_factory.mktemp("an4"))["dev"]


@pytest.fixture(scope="session")
def copiste_val(tmp_path_factory) -> Path:
    """The Copiste validation manifest (638 lines of 28 writers), prepared from the real release."""
    source = SHARED_DATA / "copiste"
    if not (source / "lines.tsv").exists():
        pytest.skip(f"needs the real Copiste line release at {source}")
    from recognize.corpora import copiste

    return copiste.prepare(str(source), tmp_path_factory.mktemp("copiste"))["val"]


LINES = ROOT / "tests" / "data" / "copiste"  # real Copiste line crops with .gt.txt transcripts


@pytest.fixture(scope="session")
def line_manifest(tmp_path_factory) -> Path:
    """A manifest of the committed real line images."""
    folder = tmp_path_factory.mktemp("lines")
    rows = [{"id": p.stem, "image": str(p), "text": p.with_suffix(".gt.txt").read_text(encoding="utf-8").strip()}
            for p in sorted(LINES.glob("*.png"))]
    path = folder / "lines.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def handwriting_model(tmp_path_factory, line_manifest) -> Path:
    """A small handwriting checkpoint trained for a few epochs on the real line crops:
    enough to exercise read/evaluate, not to read well."""
    run = tmp_path_factory.mktemp("hw") / "run"
    done = run_cli("train", ROOT / "configs" / "copiste.yaml", "--out", run,
                   "--set", f"train.train_manifest={line_manifest}", "--set", f"train.dev_manifest={line_manifest}",
                   "--set", "train.epochs=2", "--set", "model.hidden=16", "--set", "model.layers=1",
                   "--set", "model.cnn_channels=[4, 4, 4, 4]", "--set", "model.subsample=4", "--set", "train.threads=1")
    assert done.returncode == 0, done.stderr
    return run / "best.pt"
