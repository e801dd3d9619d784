"""Training-time augmentation: speed perturbation and other channels (waveforms),
SpecAugment (features) and handwriting distortions (line images)."""

from __future__ import annotations

import numpy as np
import torch

from ..config import AugmentConfig
from ..inputs.audio import resample


def speed_perturb(wave: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``(samples,)`` ``factor`` times faster (tempo and pitch, like ``sox speed``).

    Returns ``(round(samples / factor),)``: the samples are read as if recorded at
    ``sample_rate * factor`` and resampled back to ``sample_rate``.
    """
    if factor == 1.0:
        return wave
    return resample(wave, sample_rate * factor, sample_rate)


def coloured_noise(samples: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """``(samples,)`` Gaussian noise of unit power whose spectrum falls as 1/f^k: ``white``
    (k = 0), ``pink`` (1) or ``brown`` (2)."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    f = np.arange(len(spectrum), dtype=np.float64)
    spectrum *= np.maximum(f, 1.0) ** -(NOISE_EXPONENTS[colour] / 2)
    noise = np.fft.irfft(spectrum, samples)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


NOISE_EXPONENTS = {"white": 0, "pink": 1, "brown": 2}


def add_noise(wave: np.ndarray, snr_db: float, colour: str, rng: np.random.Generator,
              power: float | None = None) -> np.ndarray:
    """``(samples,)`` with ``colour`` noise added ``snr_db`` below ``power`` (default: the
    wave's mean power)."""
    power = float(np.mean(wave.astype(np.float64) ** 2)) if power is None else power
    noise = coloured_noise(len(wave), colour, rng) * np.sqrt(power * 10 ** (-snr_db / 10))
    return (wave + noise).astype(np.float32)


def telephone_band(wave: np.ndarray, sample_rate: int, rate: int = 8000) -> np.ndarray:
    """``(samples,)`` resampled to ``rate`` and back: nothing above ``rate / 2`` is left."""
    return resample(resample(wave, sample_rate, rate), rate, sample_rate)[: len(wave)]


def reverberate(wave: np.ndarray, sample_rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """``(samples,)`` in a synthetic room: convolved with a direct path and exponentially
    decaying noise that falls 60 dB in ``rt60`` seconds (its tail cut at the wave's end),
    at the wave's power."""
    from scipy.signal import fftconvolve

    t = np.arange(int(rt60 * sample_rate)) / sample_rate
    response = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60) * 0.1
    response[0] = 1.0
    out = fftconvolve(wave, response)[: len(wave)]
    scale = np.sqrt(np.mean(wave.astype(np.float64) ** 2) / max(np.mean(out**2), 1e-20))
    return (out * scale).astype(np.float32)


def equalize(wave: np.ndarray, rng: np.random.Generator, most_db: float = 6.0) -> np.ndarray:
    """``(samples,)`` through a random smooth equalizer: gains of up to ``most_db`` at six
    frequencies, interpolated between them."""
    spectrum = np.fft.rfft(wave)
    gains_db = np.interp(np.linspace(0, 1, len(spectrum)), np.linspace(0, 1, 6), rng.uniform(-most_db, most_db, 6))
    return np.fft.irfft(spectrum * 10 ** (gains_db / 20), len(wave)).astype(np.float32)


def other_channel(wave: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(samples,)`` as another microphone, room or line might carry it (``augment.channel``).

    Each applied with probability 1/2, in this order: up to a second of silence before
    and after, a room's reverberation (RT60 0.2-0.8 s), white, pink or brown noise at
    5-30 dB SNR, a random equalizer (+-6 dB) and the telephone band (8 kHz and back).
    Returns two new float32 waves of ``(samples',)`` (longer by the silence): the wave so
    carried, and the wave between the same silences alone (what a ``train.teacher``
    hears; the same object when no other effect was drawn). The same ``rng`` state gives
    the same output."""
    out = np.asarray(wave, dtype=np.float32)
    power = float(np.mean(out.astype(np.float64) ** 2))  # the speech's, before any silence
    if rng.random() < 0.5:
        before, after = (int(rng.uniform(0, 1) * sample_rate) for _ in range(2))
        out = np.concatenate([np.zeros(before, np.float32), out, np.zeros(after, np.float32)])
    between = out
    if rng.random() < 0.5:
        out = reverberate(out, sample_rate, rng.uniform(0.2, 0.8), rng)
    if rng.random() < 0.5:
        out = add_noise(out, rng.uniform(5, 30), str(rng.choice(list(NOISE_EXPONENTS))), rng, power)
    if rng.random() < 0.5:
        out = equalize(out, rng)
    if rng.random() < 0.5:
        out = telephone_band(out, sample_rate)
    return out, between


def spec_augment(
    features: torch.Tensor,
    lengths: torch.Tensor,
    cfg: AugmentConfig,
    fill: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """SpecAugment (Park et al. 2019) frequency and time masks, within each item's valid frames.

    features: ``(N, T, F)``; lengths: ``(N,)``; fill: ``(F,)`` value for masked cells
    (the normalization mean, so that masked cells become 0 after normalization).
    Returns a new ``(N, T, F)`` tensor; padding frames are left untouched.
    """
    out = features.clone()
    n, _, f = out.shape

    def rand_int(high: int) -> int:  # uniform in [0, high]
        return int(torch.randint(0, max(high, 0) + 1, (1,), generator=generator))

    for i in range(n):
        length = int(lengths[i])
        for _ in range(cfg.freq_masks):
            width = rand_int(min(cfg.freq_width, f))
            start = rand_int(f - width)
            out[i, :length, start : start + width] = fill[start : start + width]
        max_time = int(cfg.time_width * length)
        for _ in range(cfg.time_masks):
            width = rand_int(max_time)
            start = rand_int(length - width)
            out[i, start : start + width, :] = fill
    return out


def distort_image(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random handwriting distortions of a ``(H, W)`` line image (background 0, ink towards 1).

    Each applied with probability 1/2, in this order: an affine map about the centre
    (slant/shear +-0.3, scale +-10 %, rotation +-1.5 degrees), a smooth elastic warp
    (random displacements of ~1 px on a 16-px grid, interpolated), thinner or thicker
    strokes (grey erosion or dilation), Gaussian blur and Gaussian noise. Returns a new
    ``(H, W)`` float32 array in [0, 1]; the same ``rng`` state gives the same output.
    """
    from scipy import ndimage

    out = np.asarray(image, dtype=np.float32)
    h, w = out.shape
    if rng.random() < 0.5:
        shear, scale = rng.uniform(-0.3, 0.3), rng.uniform(0.9, 1.1)
        angle = np.deg2rad(rng.uniform(-1.5, 1.5))
        # output (row, col) -> input (row, col): inverse of rotate(angle) @ shear @ scale
        forward = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        forward = forward @ np.array([[1.0, 0.0], [shear, 1.0]]) * scale
        matrix = np.linalg.inv(forward)
        centre = np.array([(h - 1) / 2, (w - 1) / 2])
        out = ndimage.affine_transform(out, matrix, offset=centre - matrix @ centre, order=1, cval=0.0)
    if rng.random() < 0.5:
        grid = (max(2, h // 16 + 1), max(2, w // 16 + 1))
        rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
        shift = [ndimage.zoom(rng.normal(0, 1.0, grid), (h / grid[0], w / grid[1]), order=3)[:h, :w]
                 for _ in range(2)]
        out = ndimage.map_coordinates(out, [rows + shift[0], cols + shift[1]], order=1, cval=0.0)
    if rng.random() < 0.5:
        morph = ndimage.grey_erosion if rng.random() < 0.5 else ndimage.grey_dilation
        out = morph(out, size=(2, 2))
    if rng.random() < 0.5:
        out = ndimage.gaussian_filter(out, sigma=rng.uniform(0.3, 1.0))
    if rng.random() < 0.5:
        out = out + rng.normal(0, rng.uniform(0.01, 0.05), out.shape).astype(np.float32)
    return np.clip(out, 0, 1).astype(np.float32)
