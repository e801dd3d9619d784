"""The CUDA paths: cuDNN's packed recurrent layers, bfloat16 and float16 training, a
checkpoint moved between devices. Skipped where there is no GPU (CI and the build
machines); on a GPU machine: `python -m pytest -q tests/test_gpu.py`."""

import json

import pytest
import torch
from conftest import ROOT, SAMPLE_TEXT, SAMPLES, run_cli
from test_model import real_features

from recognize.config import ModelConfig
from recognize.model.ctc import CTCModel
from recognize.models import bundled
from recognize.runtime.torch_backend import TorchRecognizer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_padded_batch_is_exact_on_cuda_and_agrees_with_the_cpu(cell):
    torch.manual_seed(0)
    model = CTCModel(ModelConfig(cell=cell, hidden=48, layers=2, conv_channels=8), feats=80, vocab=12).eval()
    feats = [torch.from_numpy(f) for f in real_features()]
    lengths = torch.tensor([len(f) for f in feats])
    batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True, padding_value=3.0)
    with torch.no_grad():
        on_cpu, cpu_lens = model(batch, lengths)
        model.cuda()
        on_gpu, gpu_lens = model(batch.cuda(), lengths.cuda())
        assert gpu_lens.cpu().tolist() == cpu_lens.tolist()
        torch.testing.assert_close(on_gpu.cpu(), on_cpu, atol=1e-3, rtol=0)
        for i, f in enumerate(feats):
            alone, _ = model(f[None].cuda(), lengths[i : i + 1].cuda())
            # cuDNN picks its kernels by batch size: on an H200 (2026-12-04) a row read alone and
            # in the padded batch lay up to 1.2e-4 apart; padding that leaked would move it by ~1
            torch.testing.assert_close(on_gpu[i, : gpu_lens[i]], alone[0], atol=5e-4, rtol=0)


def test_the_bundled_checkpoint_reads_the_samples_on_cuda_as_on_the_cpu():
    wavs = [SAMPLES / f"{k}.wav" for k in SAMPLE_TEXT]
    texts = {}
    for device in ("cpu", "cuda"):
        recognizer = TorchRecognizer.load(bundled("an4", "model.pt"), device=device, decoder="greedy")
        assert recognizer.device.type == device
        texts[device] = [hyp.text for _, hyp, _ in recognizer.transcribe_files(wavs)]
    assert texts["cuda"] == texts["cpu"]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_yesno_trains_on_cuda_and_its_checkpoint_reads_on_the_cpu(yesno_data, tmp_path, precision):
    run = tmp_path / "run"
    done = run_cli("train", ROOT / "configs" / "yesno.yaml", "--out", run, "--device", "cuda",
                   "--set", f"train.train_manifest={yesno_data / 'train.jsonl'}",
                   "--set", f"train.dev_manifest={yesno_data / 'dev.jsonl'}", "--set", f"train.precision={precision}")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    # fp16: on an H200 (2026-12-04) yesno's first epoch counted no batch (most likely the
    # gradient scaler's first, overflowing steps), and such an epoch has no loss
    losses = [r["train_loss"] for r in records if r["train_loss"] is not None]
    assert len(losses) >= len(records) - 2 and losses[-1] < losses[0]
    done = run_cli("evaluate", yesno_data / "dev.jsonl", "--model", run / "best.pt", "--json")  # on the CPU
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["wer"] <= 0.05
