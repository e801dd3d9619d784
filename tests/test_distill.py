"""Knowledge distillation (train.teacher, train.distill): the loss it adds, the teachers it
refuses, and a student that learns its teacher's frame posteriors on real recordings."""

import numpy as np
import pytest
import torch
from conftest import ROOT, SAMPLES, run_cli
from test_train import tiny_config

from recognize.config import AugmentConfig, FeatureConfig
from recognize.errors import ConfigError
from recognize.inputs.audio import load_audio, log_mel
from recognize.inputs.manifest import read_manifest
from recognize.inputs.text import Alphabet
from recognize.model.checkpoint import load_checkpoint, read_checkpoint
from recognize.model.ctc import CTCModel
from recognize.training.augment import other_channel
from recognize.training.data import SpeechDataset, collate, make_dataset
from recognize.training.distill import distill_loss
from recognize.training.loop import train
from recognize.training.objective import batch_loss

DETERMINISTIC = ["model.dropout=0", "augment.freq_masks=0", "augment.time_masks=0"]


def test_the_kl_term_is_zero_against_itself_and_blind_to_padding():
    torch.manual_seed(0)
    student = torch.randn(2, 6, 5).log_softmax(-1)
    teacher = torch.randn(2, 6, 5).log_softmax(-1)
    lens = torch.tensor([6, 4])
    assert distill_loss(teacher, teacher, lens).item() == pytest.approx(0.0, abs=1e-6)
    expected = sum(torch.nn.functional.kl_div(student[i, :n], teacher[i, :n], log_target=True, reduction="sum")
                   for i, n in enumerate(lens.tolist()))
    assert distill_loss(student, teacher, lens).item() == pytest.approx(expected.item(), rel=1e-5)
    moved = student.clone()
    moved[1, 4:] = torch.randn(2, 5).log_softmax(-1)  # frames past the second utterance's end
    assert distill_loss(moved, teacher, lens).item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_teacher_reads_the_recording_the_student_hears_through_another_channel():
    """Items carry the clean copy's features, frame for frame: the recording between the
    same silences (so the frames pair), without the noise, room, equalizer or telephone."""
    rows = [{"id": "a", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": "AUGUST"}]
    features, seed, alphabet = FeatureConfig(), 1, Alphabet.from_texts(["AUGUST"])

    def dataset(channel):  # no speed factors, no joins: the channel is all that is drawn
        return SpeechDataset(rows, alphabet, features, AugmentConfig(channel=channel, speed_factors=[], join=0.0),
                             seed, clean=True)

    items, plain = dataset(1.0), dataset(0.0)
    assert torch.equal(plain[0]["clean_features"], plain[0]["features"])
    differ = 0
    for epoch in range(4):
        items.epoch = epoch
        item = items[0]
        assert item["clean_features"].shape == item["features"].shape
        differ += not torch.equal(item["clean_features"], item["features"])
        # the clean copy is the recording with the silences this epoch's channel drew
        rng = np.random.default_rng([seed, epoch, 0])
        rng.random()  # draw_augmentation: whether the channel applies (channel 1.0: it does)
        _, wave = other_channel(load_audio(rows[0]["audio"], 16000), 16000, rng)
        assert np.allclose(item["clean_features"].numpy(), log_mel(wave, features), atol=1e-5)
    assert differ >= 3
    batch = collate([items[0], plain[0]])
    assert batch["clean_features"].shape == batch["features"].shape


def test_distillation_mixes_the_teachers_kl_in_by_its_weight():
    plain = tiny_config("unused.jsonl", *DETERMINISTIC)
    cfg = tiny_config("unused.jsonl", *DETERMINISTIC, "train.teacher=t.pt", "train.distill=0.4")
    torch.manual_seed(0)
    student, teacher = CTCModel(cfg.model, 40, 5), CTCModel(cfg.model, 40, 5).eval()
    batch = {"ids": ["a", "b"], "features": torch.randn(2, 40, 40), "lengths": torch.tensor([40, 31]),
             "labels": torch.tensor([[1, 2, 3], [4, 1, 0]]), "label_lengths": torch.tensor([3, 2])}
    cpu = torch.device("cpu")
    ctc, n, _ = batch_loss(student, batch, plain, cpu)
    batch["clean_features"] = batch["features"] + 0.5 * torch.randn(2, 40, 40)
    mixed, _, _ = batch_loss(student, batch, cfg, cpu, teacher=teacher)
    mine, out_lens = student(batch["features"], batch["lengths"])
    theirs, _ = teacher(batch["clean_features"], batch["lengths"])  # the teacher reads the clean copy
    kl = distill_loss(mine, theirs, out_lens) / n
    assert kl.item() > 0.1
    assert mixed.item() == pytest.approx(0.6 * ctc.item() + 0.4 * kl.item(), rel=1e-5)
    mixed.backward()  # the student learns; the teacher does not
    assert all(p.grad is None for p in teacher.parameters())


def test_a_teacher_that_reads_otherwise_is_refused(tmp_path, sample_manifest):
    train(tiny_config(sample_manifest, "train.epochs=1"), tmp_path / "teacher")
    teacher = tmp_path / "teacher" / "last.pt"
    for change, named in (("features.n_mels=32", "feature settings"), ("model.subsample=2", "frame rate")):
        refused = f"train.teacher: {teacher} does not read as this model does: not the same {named}$"
        with pytest.raises(ConfigError, match=refused):
            train(tiny_config(sample_manifest, "train.epochs=1", change, f"train.teacher={teacher}"), tmp_path / change)
    missing = tmp_path / "missing.pt"
    with pytest.raises(ConfigError, match=f"train.teacher: {missing}: no such model file"):
        train(tiny_config(sample_manifest, "train.epochs=1", f"train.teacher={missing}"), tmp_path / "missing")


def mean_kl(student_path, teacher_path, manifest) -> float:
    """Mean KL(teacher || student) per frame over ``manifest``'s recordings (dev features)."""
    (student, cfg, alphabet), (teacher, _, _) = load_checkpoint(student_path), load_checkpoint(teacher_path)
    items = make_dataset(read_manifest(manifest), alphabet, cfg, train=False)
    total, frames = 0.0, 0
    with torch.no_grad():
        for i in range(len(items)):
            feats = torch.as_tensor(items[i]["features"])[None]
            lengths = torch.tensor([feats.shape[1]])
            mine, out_lens = student(feats, lengths)
            total += distill_loss(mine, teacher(feats, lengths)[0], out_lens).item()
            frames += int(out_lens[0])
    return total / frames


def test_a_distilled_student_learns_its_teachers_posteriors(tmp_path, sample_manifest):
    """A BiGRU trained on the committed AN4 recordings teaches a BiLSTM: after the same
    steps from the same start, the student taught reads frame by frame much as its teacher
    does, the one trained on CTC alone does not."""
    train(tiny_config(sample_manifest, "train.epochs=40", "model.cell=gru", "train.lr=0.003"), tmp_path / "teacher")
    teacher = tmp_path / "teacher" / "last.pt"
    students = {}
    for weight in (0.0, 0.9):
        cfg = tiny_config(sample_manifest, "train.epochs=20", "model.cell=lstm", f"train.teacher={teacher}",
                          f"train.distill={weight}", "train.lr=0.01")
        train(cfg, tmp_path / f"student{weight}")
        students[weight] = mean_kl(tmp_path / f"student{weight}" / "last.pt", teacher, sample_manifest)
    assert read_checkpoint(tmp_path / "student0.9" / "last.pt")["config"]["train"]["teacher"] == str(teacher)
    assert students[0.9] < 0.5 * students[0.0], students


def test_a_handwriting_model_teaches_through_the_command_line(tmp_path, handwriting_model, line_manifest):
    """A line model teaches one of another size on the committed real lines; one that
    scales lines to another height is refused, naming its image settings."""
    common = ["--set", f"train.train_manifest={line_manifest}", "--set", f"train.dev_manifest={line_manifest}",
              "--set", "train.epochs=1", "--set", "model.layers=1", "--set", "model.cnn_channels=[4, 4, 4, 4]",
              "--set", "model.subsample=4", "--set", "train.threads=1", "--set", f"train.teacher={handwriting_model}"]
    done = run_cli("train", ROOT / "configs" / "copiste.yaml", "--out", tmp_path / "student", *common,
                   "--set", "model.hidden=24")
    assert done.returncode == 0, done.stderr
    assert f"distilling {handwriting_model}" in done.stderr and (tmp_path / "student" / "last.pt").exists()
    done = run_cli("train", ROOT / "configs" / "copiste.yaml", "--out", tmp_path / "taller", *common,
                   "--set", "image.height=48")
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == (
        f"error: train.teacher: {handwriting_model} does not read as this model does: not the same image settings")
