import numpy as np
import pytest
import torch
from conftest import LINES, SAMPLES

from recognize.config import FeatureConfig, ModelConfig
from recognize.inputs.audio import load_audio, log_mel
from recognize.inputs.image import load_image
from recognize.model.ctc import CTCModel


def real_features():
    """Log-mels of the committed samples cut to several lengths, the shortest under 7 frames."""
    cfg = FeatureConfig()
    feats = [log_mel(load_audio(SAMPLES / f, 16000), cfg) for f in ("cen8-mmtm-b.wav", "cen7-fjam-b.wav")]
    return [feats[0], feats[1][:150], feats[0][40:83], feats[1][:5]]


@pytest.mark.parametrize("frontend, subsample, proj", [("conv", 4, 0), ("conv", 2, 0), ("stack", 3, 0), ("conv", 4, 24)])
def test_batch_consistency(frontend, subsample, proj):
    """A padded batch gives each utterance exactly what it gives alone, in both directions."""
    torch.manual_seed(0)
    cfg = ModelConfig(frontend=frontend, subsample=subsample, hidden=48, layers=2, proj=proj, conv_channels=8)
    model = CTCModel(cfg, feats=80, vocab=12).eval()
    model.normalizer.mean.fill_(-5.0)  # padding after normalization would be non-zero without the mask
    feats = [torch.from_numpy(f) for f in real_features()]
    lengths = torch.tensor([len(f) for f in feats])
    batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True, padding_value=3.0)
    with torch.no_grad():
        log_probs, out_lens = model(batch, lengths)
        for i, f in enumerate(feats):
            alone, alone_len = model(f[None], lengths[i : i + 1])
            assert int(out_lens[i]) == int(alone_len[0]) == alone.shape[1]
            torch.testing.assert_close(log_probs[i, : out_lens[i]], alone[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("subsample, expected", [(4, [24, 11, 1]), (2, [47, 22, 1])])
def test_output_lengths_and_shapes(subsample, expected):
    model = CTCModel(ModelConfig(hidden=32, layers=1, conv_channels=4, subsample=subsample), feats=80, vocab=5).eval()
    x = torch.zeros(3, 100, 80)
    log_probs, out_lens = model(x, torch.tensor([100, 50, 3]))
    # conv: ((T - 3) // 2 + 1 - 3) // (subsample / 2) + 1; a clip under 7 frames counts as 7
    assert out_lens.tolist() == expected
    assert log_probs.shape == (3, expected[0], 5) and out_lens.dtype == torch.int64
    np.testing.assert_allclose(log_probs.detach().exp().sum(-1).numpy(), 1.0, atol=1e-5)


def test_lstm_initialization_follows_the_literature():
    model = CTCModel(ModelConfig(hidden=32, layers=2), feats=80, vocab=5)
    lstm = model.encoder
    for layer in range(2):
        bias = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
        assert torch.all(bias[32:64] == 1) and torch.all(bias[:32] == 0) and torch.all(bias[64:] == 0)
        for gate in getattr(lstm, f"weight_hh_l{layer}_reverse").detach().chunk(4, 0):
            torch.testing.assert_close(gate @ gate.T, torch.eye(32), atol=1e-5, rtol=0)


def test_batch_consistency_for_line_images():
    """Lines of different widths (one narrower than the frontend's reduction) padded into
    one batch give what each gives alone, through the CNN's batch norm and pooling."""
    torch.manual_seed(0)
    cfg = ModelConfig(frontend="cnn", cnn_channels=[8, 8, 16, 16], subsample=4, hidden=24, layers=2)
    model = CTCModel(cfg, feats=64, vocab=9).eval()
    for module in model.modules():  # non-trivial batch-norm statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.bias.data.uniform_(-1, 1)
    lines = [torch.from_numpy(load_image(p, 64).T.copy()) for p in sorted(LINES.glob("*.png"))]
    lines.append(lines[0][:3])  # 3 px wide
    lengths = torch.tensor([len(x) for x in lines])
    batch = torch.nn.utils.rnn.pad_sequence(lines, batch_first=True, padding_value=0.5)
    with torch.no_grad():
        log_probs, out_lens = model(batch, lengths)
        assert out_lens.tolist() == [max(1, w // 4) for w in lengths.tolist()]
        for i, line in enumerate(lines):
            alone, _ = model(line[None], lengths[i : i + 1])
            torch.testing.assert_close(log_probs[i, : out_lens[i]], alone[0], atol=1e-5, rtol=0)
