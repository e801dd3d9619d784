import json

import pytest
import torch
from conftest import ROOT, SAMPLE_TEXT, SAMPLES, run_cli

from recognize.config import from_dict, load_config
from recognize.errors import ConfigError, ManifestError, RecognizeError
from recognize.inputs.text import Alphabet
from recognize.model.checkpoint import init_from_checkpoint, read_checkpoint
from recognize.model.ctc import CTCModel
from recognize.training.loop import train
from recognize.training.objective import batch_loss, lr_lambda, weight_noise


def tiny_config(manifest, *more):
    """A small fast model on the committed real samples."""
    return load_config(None, [
        f"train.train_manifest={manifest}", f"train.dev_manifest={manifest}",
        "model.frontend=stack", "model.subsample=4", "model.hidden=32", "model.layers=2",
        "features.n_mels=40", "train.batch_seconds=6", "train.warmup_steps=2", "train.threads=1",
        *more,
    ])


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    f = lr_lambda(warmup=10, total=110, final_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)


def test_weight_noise_takes_the_gradient_at_noisy_weights_and_updates_the_clean_ones():
    cfg = tiny_config("unused.jsonl")
    torch.manual_seed(0)
    model = CTCModel(cfg.model, 40, 5)
    feats, lengths = torch.randn(2, 40, 40), torch.tensor([40, 31])
    labels = torch.tensor([[1, 2, 3], [4, 1, 0]])

    def gradients():
        model.zero_grad()
        log_probs, out_lens = model(feats, lengths)
        torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), labels, out_lens, torch.tensor([3, 2])).backward()
        return [p.grad.clone() for p in model.parameters()]

    before = [p.detach().clone() for p in model.parameters()]
    clean_grads = gradients()
    with weight_noise(model, 0.05):
        moved = [not torch.equal(p, b) for p, b in zip(model.parameters(), before)]
        noisy_grads = gradients()
    assert moved == [p.dim() >= 2 for p in model.parameters()]  # weight matrices and kernels, not biases
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))  # restored exactly
    assert not all(torch.allclose(c, n) for c, n in zip(clean_grads, noisy_grads))
    torch.optim.SGD(model.parameters(), lr=0.1).step()  # the update: clean weights minus the noisy gradient
    assert all(torch.allclose(p, b - 0.1 * g) for p, b, g in zip(model.parameters(), before, noisy_grads))
    updated = [p.detach().clone() for p in model.parameters()]
    with weight_noise(model, 0.0):  # off: nothing moves
        assert all(torch.equal(p, u) for p, u in zip(model.parameters(), updated))


def test_intermediate_ctc_mixes_the_middle_layers_loss_in_by_its_weight():
    settings = ["model.layers=3", "model.dropout=0", "augment.freq_masks=0", "augment.time_masks=0"]  # deterministic
    plain, cfg = tiny_config("unused.jsonl", *settings), tiny_config("unused.jsonl", *settings, "train.inter_ctc=0.3")
    assert (plain.inter_ctc_at, cfg.inter_ctc_at) == (0, 2)  # off; the middle of 3 layers
    torch.manual_seed(0)
    model = CTCModel(cfg.model, 40, 5)
    batch = {"ids": ["a", "b"], "features": torch.randn(2, 40, 40), "lengths": torch.tensor([40, 31]),
             "labels": torch.tensor([[1, 2, 3], [4, 1, 0]]), "label_lengths": torch.tensor([3, 2])}
    cpu = torch.device("cpu")
    final, n, _ = batch_loss(model, batch, plain, cpu)
    mixed, _, _ = batch_loss(model, batch, cfg, cpu)
    _, out_lens, middle = model(batch["features"], batch["lengths"], 2)
    inter = torch.nn.functional.ctc_loss(middle.transpose(0, 1), batch["labels"], out_lens, batch["label_lengths"],
                                         reduction="sum") / n
    assert abs(inter.item() - final.item()) > 0.1  # the layer below reads otherwise than the top
    assert mixed.item() == pytest.approx(0.7 * final.item() + 0.3 * inter.item(), rel=1e-5)


def test_intermediate_ctc_settings_are_checked(tmp_path, sample_manifest):
    with pytest.raises(ConfigError, match="train.inter_ctc: needs an encoder of 2 or more layers"):
        tiny_config(sample_manifest, "model.layers=1", "train.inter_ctc=0.3")
    with pytest.raises(ConfigError, match="train.inter_ctc_layer: must be a layer below the last, 1 to 1"):
        tiny_config(sample_manifest, "train.inter_ctc=0.3", "train.inter_ctc_layer=2")
    with pytest.raises(ConfigError, match=r"train.inter_ctc: must be in \[0, 1\)"):
        tiny_config(sample_manifest, "train.inter_ctc=1")
    train(tiny_config(sample_manifest, "train.epochs=1", "train.inter_ctc=0.3", "train.inter_ctc_layer=1"), tmp_path / "run")
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert record["train_loss"] > 0 and record["wer"] <= 1.0


def test_run_folder_contents(tmp_path, sample_manifest):
    best = train(tiny_config(sample_manifest, "train.epochs=2"), tmp_path / "run")
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"config.yaml", "metrics.jsonl", "last.pt", "best.pt",
                                                            "epoch1.pt", "epoch2.pt"}
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    for r in records:
        assert {"epoch", "train_loss", "wer", "cer", "seconds"} <= set(r)
    assert best["epoch"] in (1, 2)
    assert load_config(tmp_path / "run" / "config.yaml") == tiny_config(sample_manifest, "train.epochs=2")
    with pytest.raises(RecognizeError, match="already holds a run"):
        train(tiny_config(sample_manifest), tmp_path / "run")


def test_bf16_on_the_cpu_follows_fp32_and_keeps_float32_weights(tmp_path, sample_manifest):
    runs, losses = {}, {}
    for precision in ("fp32", "bf16"):
        train(tiny_config(sample_manifest, "train.epochs=3", f"train.precision={precision}"), tmp_path / precision)
        runs[precision] = read_checkpoint(tmp_path / precision / "last.pt")["model"]
        records = (tmp_path / precision / "metrics.jsonl").read_text().splitlines()
        losses[precision] = [json.loads(line)["train_loss"] for line in records]
    # measured: 130.961, 129.867, 134.146 in fp32; bf16 within 0.02 of each
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=1e-3), losses
    assert all(value.dtype == runs["fp32"][key].dtype for key, value in runs["bf16"].items())
    moved = [key for key, value in runs["bf16"].items() if value.is_floating_point()
             and not torch.equal(value, runs["fp32"][key])]
    assert moved  # the same seed and data: only bf16 arithmetic can have made them differ


def test_bf16_on_a_cpu_without_bf16_instructions_warns_and_fp16_needs_cuda(monkeypatch, capsys):
    from recognize.training import objective

    monkeypatch.setattr(objective, "cpu_has_bf16", lambda: False)
    assert objective.autocast_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    assert "this CPU has no bf16 instructions" in capsys.readouterr().err
    assert objective.autocast_dtype("auto", torch.device("cpu")) is None
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        objective.autocast_dtype("fp16", torch.device("cpu"))


def test_resume_ends_with_the_same_weights(tmp_path, sample_manifest):
    """Stopping after epoch 1 and resuming gives the weights of an uninterrupted run (CPU, fixed seed)."""
    flat = ["train.final_lr_ratio=1.0"]  # a schedule that does not depend on the epoch count
    train(tiny_config(sample_manifest, "train.epochs=3", *flat), tmp_path / "whole")
    train(tiny_config(sample_manifest, "train.epochs=1", *flat), tmp_path / "parts")
    train(tiny_config(sample_manifest, "train.epochs=3", *flat), tmp_path / "parts", resume=True)
    whole = read_checkpoint(tmp_path / "whole" / "last.pt")
    parts = read_checkpoint(tmp_path / "parts" / "last.pt")
    assert (parts["train_state"]["epoch"], parts["train_state"]["batches_done"]) == (4, 0)  # what comes next
    for key, value in whole["model"].items():
        torch.testing.assert_close(parts["model"][key], value, atol=0, rtol=0, msg=key)
    lines = (tmp_path / "parts" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3]


def test_labels_that_cannot_fit_are_reported_and_skipped(tmp_path):
    rows = [{"id": k, "audio": str(SAMPLES / f"{k}.wav"), "text": v} for k, v in SAMPLE_TEXT.items()]
    rows.append({"id": "too-long", "audio": str(SAMPLES / "cen7-fjam-b.wav"), "text": "ONE TWO THREE " * 20})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg_args = ["--set", f"train.train_manifest={manifest}", "--set", f"train.dev_manifest={manifest}",
                "--set", "model.frontend=stack", "--set", "model.hidden=16", "--set", "model.layers=1",
                "--set", "train.epochs=1"]
    done = run_cli("train", "--out", tmp_path / "run", *cfg_args, tmp_path / "none.yaml")
    assert done.returncode == 1 and "none.yaml: cannot read" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "c.yaml").write_text("kind: speech\n")
    done = run_cli("train", tmp_path / "c.yaml", "--out", tmp_path / "run", *cfg_args)
    assert done.returncode == 0, done.stderr
    assert "skipped 1 utterances whose labels cannot fit" in done.stderr and "too-long (279 labels" in done.stderr
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert record["skipped"] == 1 and record["train_loss"] > 0


def test_a_resumed_run_keeps_its_model_and_says_what_else_changed(tmp_path, sample_manifest):
    settings = [f"train.train_manifest={sample_manifest}", f"train.dev_manifest={sample_manifest}",
                "model.frontend=stack", "model.hidden=32", "model.layers=1", "features.n_mels=40", "train.threads=1"]
    (tmp_path / "c.yaml").write_text("kind: speech\n")
    args = [tmp_path / "c.yaml"] + [a for setting in settings for a in ("--set", setting)]
    assert run_cli("train", "--out", tmp_path / "run", *args, "--set", "train.epochs=1").returncode == 0

    wider = run_cli("train", "--out", tmp_path / "run", *args, "--set", "model.hidden=48", "--resume")
    assert wider.returncode == 1 and "Traceback" not in wider.stderr
    assert wider.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'run'}: a resumed run keeps its model and input settings; model.hidden is 32 there, 48 here"]

    state = read_checkpoint(tmp_path / "run" / "last.pt")  # as a run from before augment.vtlp existed
    del state["config"]["augment"]["vtlp"]
    torch.save(state, tmp_path / "run" / "last.pt")
    longer = run_cli("train", "--out", tmp_path / "run", *args, "--set", "train.epochs=2", "--set", "train.patience=5",
                     "--resume")
    assert longer.returncode == 0, longer.stderr
    assert "changed settings: train.epochs 1 -> 2, train.patience 0 -> 5\n" in longer.stderr
    assert load_config(tmp_path / "run" / "config.yaml") == load_config(None, settings + ["train.epochs=2",
                                                                                         "train.patience=5"])


def test_fine_tuning_with_another_alphabet_keeps_shared_symbols(tmp_path, handwriting_model, line_manifest):
    """`--init` with new characters: the output rows of shared symbols are the
    checkpoint's, new symbols get rows of their own, and training runs."""
    state = read_checkpoint(handwriting_model)
    old = Alphabet(state["alphabet"])
    cfg = from_dict(state["config"])
    union = old.union(Alphabet.from_texts(["Ωμέγα ÷"]))
    model = CTCModel(cfg.model, cfg.input_dim, len(union))
    assert init_from_checkpoint(model, state, union) == len(old)
    head = model.state_dict()["head.weight"]
    for i, symbol in enumerate(old.symbols):
        torch.testing.assert_close(head[union.index[symbol]], state["model"]["head.weight"][i], atol=0, rtol=0)
    assert len(union) > len(old)

    rows = [json.loads(l) for l in line_manifest.read_text(encoding="utf-8").splitlines()]
    rows[0]["text"] += " Ω"
    manifest = tmp_path / "new.jsonl"
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "c.yaml").write_text("kind: handwriting\nmodel:\n  frontend: cnn\n")
    done = run_cli("train", tmp_path / "c.yaml", "--out", tmp_path / "tuned", "--init", handwriting_model,
                   "--set", f"train.train_manifest={manifest}", "--set", f"train.dev_manifest={manifest}",
                   "--set", "train.epochs=1", "--set", "train.freeze_frontend_steps=1")
    assert done.returncode == 0, done.stderr
    assert f"{len(old)} of {len(old) + 1} symbols shared" in done.stderr
    tuned = read_checkpoint(tmp_path / "tuned" / "best.pt")
    assert tuned["alphabet"] == old.symbols + ["Ω"]
    assert tuned["config"]["model"] == state["config"]["model"]

    # resumed, it keeps the model it took from --init, not the YAML's
    done = run_cli("train", tmp_path / "c.yaml", "--out", tmp_path / "tuned", "--init", handwriting_model,
                   "--set", f"train.train_manifest={manifest}", "--set", f"train.dev_manifest={manifest}",
                   "--set", "train.epochs=2", "--resume")
    assert done.returncode == 0, done.stderr
    assert "changed settings: train.epochs 1 -> 2" in done.stderr
    assert read_checkpoint(tmp_path / "tuned" / "last.pt")["config"]["model"] == state["config"]["model"]


def test_a_manifest_row_whose_file_is_gone_stops_training_with_one_line(tmp_path, sample_manifest):
    rows = sample_manifest.read_text().splitlines() + [json.dumps({"id": "gone", "audio": "gone.wav", "text": "NO"})]
    manifest = tmp_path / "train.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    with pytest.raises(ManifestError) as caught:
        train(tiny_config(manifest, "train.epochs=1"), tmp_path / "run")
    assert str(caught.value) == (f"{manifest}: 1 of 3 rows name a file whose header cannot be read, the first "
                                 f"'gone' ({tmp_path / 'gone.wav'}: no such file); fix or remove them")


def test_a_config_run_from_the_wrong_folder_says_where_its_manifests_were_looked_for(tmp_path):
    done = run_cli("train", ROOT / "configs" / "an4.yaml", "--out", tmp_path / "run", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"error: train.train_manifest: data/an4/train.jsonl: no such file (relative to "
                                   f"the current folder, {tmp_path}; prepare the corpus first, see the config's "
                                   "comments)")
    assert not (tmp_path / "run").exists()
