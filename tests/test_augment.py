import numpy as np
import torch
from conftest import SAMPLES

from recognize.config import AugmentConfig, FeatureConfig
from recognize.inputs.audio import load_audio
from recognize.inputs.text import Alphabet
from recognize.training.augment import (
    add_noise,
    coloured_noise,
    equalize,
    other_channel,
    reverberate,
    spec_augment,
    speed_perturb,
    telephone_band,
)
from recognize.training.data import SpeechDataset


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


def band_power(wave: np.ndarray, low: float, high: float, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(wave)) ** 2
    freqs = np.fft.rfftfreq(len(wave), 1 / rate)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def test_the_telephone_band_leaves_nothing_above_4_khz_of_real_speech():
    wave = load_audio(SAMPLES / "cen8-mmtm-b.wav", 16000)
    phone = telephone_band(wave, 16000)
    assert len(phone) == len(wave)
    assert band_power(phone, 4200, 8000) < 1e-4 * band_power(wave, 4200, 8000)
    assert 0.8 < band_power(phone, 300, 3400) / band_power(wave, 300, 3400) < 1.2


def test_noise_colours_have_their_slope_and_are_added_at_the_asked_snr():
    rng = np.random.default_rng(0)
    for colour, octaves in (("white", 0.25), ("pink", 1.0), ("brown", 4.0)):  # 0.5-1 kHz against 2-4 kHz
        noise = coloured_noise(160000, colour, rng)
        assert abs(np.mean(noise**2) - 1) < 1e-6
        assert 0.8 < band_power(noise, 500, 1000) / band_power(noise, 2000, 4000) / octaves < 1.25, colour
    wave = load_audio(SAMPLES / "cen8-mmtm-b.wav", 16000)
    for snr in (20, 10):
        noisy = add_noise(wave, snr, "pink", np.random.default_rng(1))
        measured = 10 * np.log10(np.mean(wave.astype(np.float64) ** 2) / np.mean((noisy - wave).astype(np.float64) ** 2))
        assert abs(measured - snr) < 0.1


def test_reverberation_keeps_length_and_power_and_smears_the_speech_in_time():
    wave = load_audio(SAMPLES / "cen8-mmtm-b.wav", 16000)
    wet = reverberate(wave, 16000, 0.6, np.random.default_rng(0))
    assert len(wet) == len(wave) and abs(np.mean(wet**2) / np.mean(wave**2) - 1) < 1e-3
    envelope = [np.convolve(np.abs(w), np.ones(800) / 800, "same") for w in (wave, wet)]
    quiet = envelope[0] < 0.05 * envelope[0].max()  # the pauses between words fill with the room's tail
    assert envelope[1][quiet].mean() > 2 * envelope[0][quiet].mean()


def test_equalizer_changes_the_bands_within_6_db():
    wave = load_audio(SAMPLES / "cen8-mmtm-b.wav", 16000)
    out = equalize(wave, np.random.default_rng(0))
    ratios = [band_power(out, f, f + 500) / band_power(wave, f, f + 500) for f in range(250, 7500, 500)]
    assert all(10 ** -0.62 < r < 10 ** 0.62 for r in ratios) and max(ratios) / min(ratios) > 1.5


def test_another_channel_is_drawn_reproducibly_and_channel_0_replays_older_configs():
    wave = load_audio(SAMPLES / "cen8-mmtm-b.wav", 16000)
    pairs = [other_channel(wave, 16000, np.random.default_rng(seed)) for seed in (0, 0, 1, 2, 3)]
    outs = [out for out, _ in pairs]
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])
    for out, between in pairs:  # the second: the recording between the same silences, nothing else
        start = np.flatnonzero(between)[0] - np.flatnonzero(wave)[0]
        assert len(between) == len(out) and np.array_equal(between[start:start + len(wave)], wave)
        assert not between[:start].any() and not between[start + len(wave):].any()
    assert all(len(o) >= len(wave) and np.isfinite(o).all() for o in outs)
    assert any(len(o) > len(wave) + 1600 for o in outs)  # silence before and after, sometimes
    rows = [{"id": "a", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": "AUGUST"}]
    alphabet = Alphabet.from_texts(["AUGUST"])
    before = SpeechDataset(rows, alphabet, FeatureConfig(), AugmentConfig(), seed=1)
    off = SpeechDataset(rows, alphabet, FeatureConfig(), AugmentConfig(channel=0.0), seed=1)
    on = SpeechDataset(rows, alphabet, FeatureConfig(), AugmentConfig(channel=1.0), seed=1)
    assert torch.equal(before[0]["features"], off[0]["features"])
    changed = []
    for epoch in range(4):
        on.epoch = before.epoch = epoch  # the same speed drawn for both, then a channel for one
        assert torch.equal(on[0]["features"], on[0]["features"])
        changed.append(not torch.equal(on[0]["features"], before[0]["features"]))
    assert sum(changed) >= 3  # all five effects are skipped one time in 32
