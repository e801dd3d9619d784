import json
import statistics

from conftest import run_cli
from test_train import tiny_config

from recognize.training.loop import train


def test_runs_side_by_side_with_seeds_summarized(tmp_path, sample_manifest):
    """Three real runs: two seeds of one setting (one with a patience that never stops it) and
    one wider model; a folder that is no run."""
    for name, *settings in (("a", "train.seed=1", "train.patience=5"), ("b", "train.seed=2"),
                            ("wide", "train.seed=1", "model.hidden=48")):
        train(tiny_config(sample_manifest, "train.epochs=2", *settings), tmp_path / name)
    (tmp_path / "empty").mkdir()
    runs = [str(tmp_path / name) for name in ("a", "b", "wide")]

    done = run_cli("runs", *runs, tmp_path / "empty", "--json")
    assert done.returncode == 1  # the bad folder is reported in one line, the others compared
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'empty' / 'config.yaml'}: cannot read the run's config "
        f"(is {tmp_path / 'empty'} a training run folder?)"]
    result = json.loads(done.stdout)

    best = {}
    for run in runs:
        records = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
        best[run] = min(records, key=lambda r: (r["wer"], r["cer"]))
    assert [(r["run"], r["best_epoch"], r["wer"], r["epochs"], r["of"]) for r in result["runs"]] == [
        (run, best[run]["epoch"], best[run]["wer"], 2, 2) for run in runs]
    assert [r["settings"] for r in result["runs"]] == [
        {"model.hidden": 32, "train.patience": 5, "train.seed": 1},
        {"model.hidden": 32, "train.patience": 0, "train.seed": 2},
        {"model.hidden": 48, "train.patience": 0, "train.seed": 1}]
    [seeds] = result["seeds"]  # the wide run has no second seed
    assert seeds["runs"] == runs[:2] and seeds["settings"] == {"model.hidden": 32}
    for rate in ("wer", "cer"):
        values = [best[run][rate] for run in runs[:2]]
        assert seeds[rate] == {"mean": statistics.mean(values), "sd": statistics.stdev(values),
                               "min": min(values), "max": max(values)}

    table = run_cli("runs", *runs).stdout.splitlines()
    assert len(table) == 5 and table[0].split()[:2] == ["run", "epochs"]
    assert table[3].endswith("model.hidden=48 train.patience=0 train.seed=1")
    assert table[4].startswith("2 seeds of model.hidden=32: dev WER ")

    # --last N: each run's mean over its last N epochs, and the seeds' spread of those means
    result = json.loads(run_cli("runs", *runs, "--last", "2", "--json").stdout)
    means = {run: [statistics.mean(json.loads(line)[rate] for line in open(f"{run}/metrics.jsonl"))
                   for rate in ("wer", "cer")] for run in runs}
    assert [[r["last_wer"], r["last_cer"]] for r in result["runs"]] == [means[run] for run in runs]
    assert result["seeds"][0]["last_wer"]["mean"] == statistics.mean(means[run][0] for run in runs[:2])
    table = run_cli("runs", *runs, "--last", "2").stdout.splitlines()
    assert "last 2 WER" in table[0] and "last-2 mean WER" in table[4]
    assert f"{100 * means[runs[2]][0]:.2f}%" in table[3].split()
    refused = run_cli("runs", *runs, "--last", "-2")
    assert refused.returncode == 1 and refused.stderr.strip() == "error: runs: --last must be 0 or more epochs, not -2"
