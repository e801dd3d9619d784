"""torchrun on the CPU: two gloo processes train in lockstep and shard an evaluation, and a
process of a torchrun job exits with its code and its output."""

import json
import os
import subprocess
import sys

from conftest import ROOT, run_cli

from recognize.config import load_config
from recognize.inputs.manifest import length_of, read_manifest
from recognize.training.data import BucketBatchSampler


def torchrun(*args, cwd):
    """``torchrun --standalone --nproc_per_node=2 -m recognize ARGS`` (a free port on localhost)."""
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "recognize", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_two_gloo_processes_train_in_sync(yesno_data, tmp_path):
    sets = ["--set", f"train.train_manifest={yesno_data / 'train.jsonl'}",
            "--set", f"train.dev_manifest={yesno_data / 'dev.jsonl'}",
            "--set", "train.epochs=2", "--set", "train.threads=1",
            "--set", "train.inter_ctc=0.3"]  # its split encoder too: DDP must see the same gradients
    done = torchrun("train", ROOT / "configs" / "yesno.yaml", "--out", tmp_path / "run", *sets, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("best epoch") == 1  # rank 0 alone reports
    assert done.stderr.count("epoch 1/2: train loss") == 1
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert all(r["processes"] == 2 and r["ranks_in_sync"] for r in records)

    # Each process took every other length bucket of the one list that a single process would use.
    cfg = load_config(ROOT / "configs" / "yesno.yaml")
    rows = read_manifest(yesno_data / "train.jsonl")
    sampler = BucketBatchSampler([length_of(r, cfg) for r in rows], cfg.train.batch_seconds,
                                 cfg.train.max_batch_size, shuffle=True, seed=cfg.train.seed)
    sampler.epoch = 1
    assert records[0]["step"] == len(sampler.all_batches()) // 2
    shares = [BucketBatchSampler(sampler.lengths, cfg.train.batch_seconds, cfg.train.max_batch_size,
                                 shuffle=True, seed=cfg.train.seed, rank=rank, world=2) for rank in (0, 1)]
    for share in shares:
        share.epoch = 1
    mine, theirs = (set(i for b in s.batches() for i in b) for s in shares)
    assert not mine & theirs and len(mine | theirs) > 0.8 * len(rows)
    assert records[1]["train_loss"] < records[0]["train_loss"]


def test_sharded_evaluation_scores_exactly_like_one_process(yesno_run, tmp_path):
    dev, model = yesno_run / "data" / "dev.jsonl", yesno_run / "run" / "best.pt"
    alone = run_cli("evaluate", dev, "--model", model, "--json")
    assert alone.returncode == 0, alone.stderr
    done = torchrun("evaluate", dev, "--model", model, "--json", "--report", tmp_path / "report", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 alone prints
    sharded, single = json.loads(lines[0]), json.loads(alone.stdout)
    for key in ("n", "wer", "cer", "substitutions", "deletions", "insertions", "reference_words", "chars"):
        assert sharded[key] == single[key], key
    assert sharded["n"] == 30
    utterances = (tmp_path / "report" / "utterances.jsonl").read_text().splitlines()
    assert len(utterances) == 30 and not list((tmp_path / "report").glob("progress*"))


def test_a_torchrun_process_ends_with_its_exit_code_and_all_its_output(tmp_path):
    """Processes of a torchrun job leave through ``os._exit`` (see distributed.end_process): what
    they printed to a pipe must still arrive, and an error must still exit 1."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout to a pipe: block-buffered
    env.update(RANK="0", WORLD_SIZE="2", LOCAL_RANK="0")
    recognize = [sys.executable, "-m", "recognize", "transcribe"]
    read = subprocess.run([*recognize, ROOT / "samples" / "cen8-mmtm-b.wav"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert read.returncode == 0 and read.stdout.strip(), read.stderr
    missing = subprocess.run([*recognize, tmp_path / "none.wav"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "none.wav" in missing.stderr and not missing.stdout
