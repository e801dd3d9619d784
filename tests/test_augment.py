import numpy as np
import torch
from conftest import SAMPLES

from recognize.config import AugmentConfig
from recognize.inputs.audio import load_audio
from recognize.training.augment import spec_augment, speed_perturb


def test_spec_augment_masks_only_valid_frames():
    cfg = AugmentConfig(freq_masks=2, freq_width=10, time_masks=2, time_width=0.2)
    feats = torch.randn(2, 50, 40)
    lengths = torch.tensor([50, 30])
    fill = torch.full((40,), 7.0)
    out = spec_augment(feats, lengths, cfg, fill, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[1, 30:], feats[1, 30:])  # padding untouched
    masked = out != feats
    assert masked.any() and torch.all(out[masked] == 7.0)
    assert not torch.equal(out, feats) and torch.equal(feats, feats.clone())  # input not modified in place


def test_speed_perturb_changes_duration_on_real_audio():
    wave = load_audio(SAMPLES / "cen7-fjam-b.wav", 16000)
    fast = speed_perturb(wave, 1.1, 16000)
    slow = speed_perturb(wave, 0.9, 16000)
    assert abs(len(fast) - len(wave) / 1.1) <= 2 and abs(len(slow) - len(wave) / 0.9) <= 2
    assert speed_perturb(wave, 1.0, 16000) is wave
    assert np.std(fast) == np.std(fast) and abs(np.std(fast) - np.std(wave)) < 0.1 * np.std(wave)
