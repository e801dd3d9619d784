"""Training that loses nothing: kill -9 and resume, non-finite losses, a full disk, averaging."""

import json
import resource
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT, run_cli
from test_train import tiny_config

from recognize.errors import ModelError, RecognizeError
from recognize.model.checkpoint import read_checkpoint, save_checkpoint
from recognize.training import loop as training
from recognize.training import objective
from recognize.training.averaging import average_checkpoints, pick_epochs


def yesno_args(data, *more):
    """Train the yesno config on the real corpus: one thread, last.pt after every batch, an EMA."""
    sets = [f"train.train_manifest={data / 'train.jsonl'}", f"train.dev_manifest={data / 'dev.jsonl'}",
            "train.epochs=3", "train.threads=1", "train.save_every_steps=1", "train.ema=0.9", *more]
    return [ROOT / "configs" / "yesno.yaml", *(a for s in sets for a in ("--set", s))]


def test_kill_9_in_mid_epoch_then_resume_ends_like_an_uninterrupted_run(yesno_data, tmp_path):
    whole = run_cli("train", *yesno_args(yesno_data), "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr

    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "recognize", "train", *map(str, yesno_args(yesno_data)), "--out", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, where = time.time() + 300, None
    while time.time() < deadline and proc.poll() is None:  # until a checkpoint from inside epoch 2
        try:
            state = torch.load(run / "last.pt", weights_only=True)["train_state"]
            where = (state["epoch"], state["batches_done"])
        except (FileNotFoundError, EOFError, RuntimeError):
            pass
        if where and where[0] == 2 and where[1] > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed in epoch 2"

    resumed = run_cli("train", *yesno_args(yesno_data), "--out", run, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "batch 0\n" not in resumed.stderr.split("resuming")[1][:200]
    a, b = read_checkpoint(tmp_path / "whole" / "last.pt"), read_checkpoint(run / "last.pt")
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value, atol=0, rtol=0, msg=key)
    for key, value in a["train_state"]["ema"].items():
        torch.testing.assert_close(b["train_state"]["ema"][key], value, atol=0, rtol=0, msg=f"ema {key}")
    records = [[json.loads(l) for l in (r / "metrics.jsonl").read_text().splitlines()] for r in (tmp_path / "whole", run)]
    assert [r["epoch"] for r in records[1]] == [1, 2, 3]
    for x, y in zip(*records):
        assert (x["train_loss"], x["wer"], x["cer"], x["step"]) == (y["train_loss"], y["wer"], y["cer"], y["step"])


def test_a_diverging_run_stops_with_its_last_good_checkpoint(sample_manifest, tmp_path):
    # An absurd learning rate: the first step sends the weights to infinity, every later loss is NaN.
    cfg = tiny_config(sample_manifest, "train.lr=1e30", "train.warmup_steps=0", "train.max_nonfinite=3",
                      "train.epochs=5", "train.batch_seconds=4", "train.save_every_steps=1")
    with pytest.raises(RecognizeError, match=r"3 non-finite losses in a row .* last good checkpoint kept"):
        training.train(cfg, tmp_path / "run")
    state = read_checkpoint(tmp_path / "run" / "last.pt")["train_state"]
    assert state["scheduler"]["last_epoch"] == 1  # the one update before the NaNs; none since


def test_a_non_finite_batch_is_skipped_and_counted(sample_manifest, tmp_path, monkeypatch):
    real, calls = objective.batch_loss, []

    def second_batch_nan(*args, **kwargs):  # a NaN as a broken input or overflow would give
        loss, n, unfit = real(*args, **kwargs)
        calls.append(n)
        return (loss * float("nan") if len(calls) == 2 else loss), n, unfit

    monkeypatch.setattr(objective, "batch_loss", second_batch_nan)
    cfg = tiny_config(sample_manifest, "train.epochs=2", "train.batch_seconds=4")
    training.train(cfg, tmp_path / "run")
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["nonfinite_batches"] for r in records] == [1, 0]
    assert records[0]["step"] == len(calls) // 2 - 1  # that batch moved nothing
    weights = read_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert all(torch.isfinite(v).all() for v in weights.values())


def test_an_epoch_whose_every_batch_was_skipped_reports_no_loss_rather_than_zero(sample_manifest, tmp_path,
                                                                                monkeypatch, capsys):
    # Seen on an H200 (2026-12-04): yesno's first fp16 epoch counted no batch and reported a
    # loss of 0, most likely the gradient scaler halving its way down from 2^16 through
    # overflowing steps. A mean over no batch is not a loss of 0.
    real, calls = objective.batch_loss, []

    def first_epoch_nan(*args, **kwargs):
        loss, n, unfit = real(*args, **kwargs)
        calls.append(n)
        return (loss * float("nan") if len(calls) <= 2 else loss), n, unfit

    monkeypatch.setattr(objective, "batch_loss", first_epoch_nan)
    cfg = tiny_config(sample_manifest, "train.epochs=2", "train.batch_seconds=4")
    training.train(cfg, tmp_path / "run")
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(calls) == 4  # two batches an epoch
    assert records[0]["train_loss"] is None and records[0]["nonfinite_batches"] == 2
    assert records[1]["train_loss"] > 0
    assert "epoch 1/2: train loss n/a (every batch skipped)" in capsys.readouterr().err


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(sample_manifest, tmp_path):
    from recognize.inputs.text import Alphabet
    from recognize.model.ctc import CTCModel

    cfg = tiny_config(sample_manifest)
    alphabet = Alphabet.from_texts(["YES NO"])
    model = CTCModel(cfg.model, cfg.input_dim, len(alphabet))
    path = tmp_path / "last.pt"
    save_checkpoint(path, model, cfg, alphabet)
    before = path.read_bytes()
    torch.nn.init.constant_(model.head.weight, 1.0)
    # The kernel refuses to let a file grow past 4 KiB: writes fail as on a full disk.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        with pytest.raises(RecognizeError, match="could not write .*the previous one is intact"):
            save_checkpoint(path, model, cfg, alphabet)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_average_is_the_mean_of_the_weights(sample_manifest, tmp_path):
    training.train(tiny_config(sample_manifest, "train.epochs=3", "train.keep_epochs=3"), tmp_path / "run")
    done = run_cli("average", "--run", tmp_path / "run", "--last", 2, "-o", tmp_path / "avg.pt")
    assert done.returncode == 0, done.stderr
    assert "epoch2.pt, epoch3.pt" in done.stdout
    avg = read_checkpoint(tmp_path / "avg.pt")
    two, three = (read_checkpoint(tmp_path / "run" / f"epoch{e}.pt")["model"] for e in (2, 3))
    for key, value in avg["model"].items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (two[key] + three[key]) / 2)
    assert "train_state" not in avg
    done = run_cli("evaluate", sample_manifest, "--model", tmp_path / "avg.pt", "--json")
    assert done.returncode == 0, done.stderr

    other = tmp_path / "other"
    training.train(tiny_config(sample_manifest, "train.epochs=1", "model.hidden=16"), other)
    with pytest.raises(ModelError, match="another model or alphabet"):
        average_checkpoints([tmp_path / "run" / "epoch3.pt", other / "last.pt"], tmp_path / "x.pt")
    (tmp_path / "run" / "epoch2.pt").unlink()
    done = run_cli("average", "--run", tmp_path / "run", "--last", 2, "-o", tmp_path / "x.pt")
    assert done.returncode == 1 and "no snapshot" in done.stderr and "Traceback" not in done.stderr


def test_average_best_picks_by_the_runs_headline_error(tmp_path):
    records = [{"epoch": 1, "wer": 0.5, "cer": 0.10}, {"epoch": 2, "wer": 0.3, "cer": 0.30},
               {"epoch": 3, "wer": 0.4, "cer": 0.05}, {"epoch": 4, "wer": 0.3, "cer": 0.20}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for r in records:
        (tmp_path / f"epoch{r['epoch']}.pt").touch()
    (tmp_path / "config.yaml").write_text("kind: speech\n")
    assert [p.name for p in pick_epochs(tmp_path, best=2)] == ["epoch2.pt", "epoch4.pt"]  # WER, then CER
    (tmp_path / "config.yaml").write_text("kind: handwriting\n")
    assert [p.name for p in pick_epochs(tmp_path, best=2)] == ["epoch1.pt", "epoch3.pt"]  # CER first
    assert [p.name for p in pick_epochs(tmp_path, last=1)] == ["epoch4.pt"]
    (tmp_path / "config.yaml").unlink()
    with pytest.raises(RecognizeError, match="cannot read the run's kind"):
        pick_epochs(tmp_path, best=1)
