"""Audio in, log-mel features out — one numpy implementation for training and inference.

Defaults (see :class:`recognize.config.FeatureConfig`): 16 kHz, 25 ms Hann window
(400 samples) zero-padded to a 512-point FFT, 10 ms hop (160 samples, so 100 frames
per second), 80 Slaney-normalized mel bands (librosa's default filterbank, computed
here so that inference never imports librosa), natural log of power + 1e-6. With
``features.level_db`` set, each recording is first scaled to that speech level
(:func:`speech_level_db`), so that a quiet or a loud recording reads as one at the
level the model trained on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import FeatureConfig
from ..errors import AudioError, RecognizeWarning
from .files import check_regular

LOG_FLOOR = 1e-6  # added to mel power before the log: bounds digital silence at log(1e-6)
ACTIVE_MARGIN_DB = 15.9  # ITU-T P.56: speech is active in frames at most this far below the active level
MAX_LEVEL_GAIN_DB = 40.0  # a near-silent recording is not raised to speech level: its hiss would read as letters
SPEECH_BAND_HZ = (300.0, 3400.0)  # the telephone band: where speech is loud on any channel
STEADY_RANGE_DB = 10.0  # a loudness range below this is silence or steady noise (see loudness_range_db)


# Common containers and codecs that libsndfile (soundfile) cannot read: AAC in MP4, WMA,
# AMR, and audio inside video files. Their error names the fix.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pdf"}  # given to an audio reader
NOT_LIBSNDFILE = {".m4a", ".aac", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".wma", ".amr", ".3gp", ".avi"}


def unreadable(path: str | Path, error: Exception) -> str:
    """The one-line message for a file soundfile could not decode: its path and why."""
    path = Path(path)
    if path.suffix.lower() in NOT_LIBSNDFILE:
        reason = (f"libsndfile does not decode {path.suffix.lower()[1:].upper()}; convert it first, "
                  f"e.g. ffmpeg -i {path.name} {path.stem}.wav")
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        reason = "an image: handwriting is read with `recognize read`"
    else:  # libsndfile's messages end with the reason after the last colon
        reason = str(error).split(":")[-1].strip() or type(error).__name__
    return f"{path}: not a readable audio file ({reason})"


def wav_data_size(path: Path) -> tuple[int, int] | None:
    """(bytes the header of a RIFF WAV file promises for its samples, bytes the file holds
    for them), or None for another format or a header that promises nothing definite."""
    import struct

    with open(path, "rb") as f:
        head = f.read(65536)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    at = 12
    while at + 8 <= len(head):
        chunk, size = head[at : at + 4], struct.unpack("<I", head[at + 4 : at + 8])[0]
        if chunk == b"data":
            return (size, path.stat().st_size - at - 8) if size not in (0, 0xFFFFFFFF) else None
        at += 8 + size + (size & 1)
    return None


def warn_if_truncated(path: Path, seconds: float) -> None:
    """A :class:`RecognizeWarning` when a WAV file holds less than its header promises:
    what is there is still read (a recording cut short by a crash is worth reading), but
    the user should know the transcript covers only its first ``seconds``."""
    import warnings

    sizes = wav_data_size(path)
    if sizes and sizes[1] < sizes[0]:
        promised = seconds * sizes[0] / max(sizes[1], 1)
        warnings.warn(f"{path}: truncated: its header promises {promised:.1f} s of audio, the file holds "
                      f"{seconds:.1f} s; reading what is there", RecognizeWarning, stacklevel=2)


def warn_low_rate(path: Path, rate: int, sample_rate: int) -> None:
    """A :class:`RecognizeWarning` for audio recorded below the model's rate: resampling
    cannot bring back the band it never held (a phone call at 8 kHz into a 16 kHz model),
    so the transcript may be poorer than the model's card says."""
    import warnings

    warnings.warn(f"{path}: recorded at {rate} Hz, below the model's {sample_rate} Hz: it lacks the sounds "
                  f"above {rate // 2} Hz that the model was trained with; transcribing it anyway",
                  RecognizeWarning, stacklevel=3)


def load_audio(path: str | Path, sample_rate: int, content: bytes | None = None) -> np.ndarray:
    """Read any file soundfile can decode; return mono float32 samples at ``sample_rate``.

    Returns: ``(samples,)`` float32, nominally in [-1, 1]. Channels are averaged;
    integer formats are scaled to float; other rates are resampled (soxr, high quality).
    ``content``: the file's bytes, already read (a member of a shard); ``path`` then
    only names it. Raises :class:`AudioError` with one line naming the file and the problem.
    """
    import io

    import soundfile as sf

    path = Path(path)
    if content is None:
        check_regular(path, AudioError)
    try:
        data, rate = sf.read(io.BytesIO(content) if content is not None else str(path), dtype="float32",
                             always_2d=True)
    except Exception as e:
        raise AudioError(unreadable(path, e)) from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no samples")
    if data.shape[0] < rate / 100:
        raise AudioError(f"{path}: too short to hold speech ({data.shape[0]} samples, under 10 ms)")
    if content is None:
        warn_if_truncated(path, data.shape[0] / rate)
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: contains NaN or infinite samples")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate < sample_rate and content is None:
        warn_low_rate(path, rate, sample_rate)
    return resample(wave, rate, sample_rate)


def resample(wave: np.ndarray, rate_in: float, rate_out: int) -> np.ndarray:
    """``(samples,)`` at ``rate_in`` -> ``(samples * rate_out / rate_in,)`` float32."""
    if rate_in == rate_out:
        return np.ascontiguousarray(wave, dtype=np.float32)
    import soxr

    return soxr.resample(wave.astype(np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)


def _hz_to_mel(hz):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (as librosa, htk=False)."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mel = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def vtlp_warp(freqs: np.ndarray, factor: float, nyquist: float) -> np.ndarray:
    """Vocal tract length perturbation (Jaitly & Hinton 2013): frequencies ``(K,)`` -> ``(K,)``.

    Multiplied by ``factor`` up to a boundary (60 % of Nyquist for factor <= 1, less
    above), then a straight line to Nyquist, which stays fixed; factor > 1 moves formants
    up, as a shorter vocal tract does.
    """
    f_hi = 0.6 * nyquist * min(factor, 1.0)
    boundary = f_hi / factor
    above = nyquist - (nyquist - f_hi) / (nyquist - boundary) * (nyquist - freqs)
    return np.where(freqs <= boundary, freqs * factor, above)


def mel_band_edges(fmin: float, fmax: float, n_mels: int) -> np.ndarray:
    """``(n_mels + 2,)`` Hz, evenly spaced in mel: band ``m`` rises from edge ``m`` to its
    centre, edge ``m + 1``, and falls to edge ``m + 2``."""
    return _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float,
                   warp: float = 1.0) -> np.ndarray:
    """Slaney-normalized triangular filters: ``(n_mels, n_fft // 2 + 1)`` float32.

    ``warp`` != 1: each FFT bin counts at its :func:`vtlp_warp` frequency (training only).
    """
    fmax = fmax or sample_rate / 2
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    if warp != 1.0:
        fft_freqs = vtlp_warp(fft_freqs, warp, sample_rate / 2)
    mel_freqs = mel_band_edges(fmin, fmax, n_mels)
    widths = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2:] - mel_freqs[:-2]))[:, None]  # equal area per band
    weights.flags.writeable = False
    return weights.astype(np.float32)


def loudness_range_db(log_mel: np.ndarray, cfg: FeatureConfig) -> float:
    """How far a recording's loudest frames rise above its quietest: the 99th minus the
    1st percentile of the ``(T, n_mels)`` :func:`log_mel` frames' power in the speech band
    (300-3400 Hz), in dB. Speech rises 15 dB or more, even 5 dB under white noise; silence
    and steady noise of any colour, at any level, stay under 8 (``recipes/an4/README.md``,
    "Silence and steady noise")."""
    centres = mel_band_edges(cfg.fmin, cfg.fmax or cfg.sample_rate / 2, cfg.n_mels)[1:-1]
    band = (centres > SPEECH_BAND_HZ[0]) & (centres < SPEECH_BAND_HZ[1])
    power_db = 10 * np.log10(np.exp(log_mel[:, band].astype(np.float64)).sum(axis=1))
    quietest, loudest = np.percentile(power_db, [1, 99])
    return float(loudest - quietest)


def frame_params(cfg: FeatureConfig) -> tuple[int, int]:
    """(window, hop) in samples."""
    return round(cfg.sample_rate * cfg.win_ms / 1000), round(cfg.sample_rate * cfg.hop_ms / 1000)


def num_frames(num_samples: int, cfg: FeatureConfig) -> int:
    """Frames that :func:`log_mel` makes from ``num_samples`` samples (at least 1)."""
    win, hop = frame_params(cfg)
    return 1 + max(0, num_samples - win) // hop


def analysis_frames(wave: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """``(samples,)`` -> ``(T, window)`` float32 frames, T = :func:`num_frames`: they start at
    multiples of the hop and never reach past the end; a clip shorter than one window is
    zero-padded to one frame."""
    win, hop = frame_params(cfg)
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"expected (samples,), got shape {wave.shape}")
    if len(wave) < win:
        wave = np.pad(wave, (0, win - len(wave)))
    return np.lib.stride_tricks.sliding_window_view(wave, win)[::hop][: num_frames(len(wave), cfg)]


def speech_level_db(frames: np.ndarray) -> float:
    """The active speech level of a recording's ``(T, window)`` frames (:func:`analysis_frames`),
    in dB re full scale, as ITU-T P.56 defines it: the mean power of the frames that lie at
    most 15.9 dB below that mean. Pauses do not count, however long; a gain of g dB raises
    the level by g dB."""
    power = np.sort(np.mean(np.square(frames, dtype=np.float64), axis=1))[::-1]
    mean_of_loudest = np.cumsum(power) / np.arange(1, len(power) + 1)
    active = power >= mean_of_loudest * 10 ** (-ACTIVE_MARGIN_DB / 10)
    count = len(power) if active.all() else int(np.argmin(active))  # the loudest frames up to the first pause
    return float(10 * np.log10(mean_of_loudest[count - 1] + 1e-10))


def level_gain_db(frames: np.ndarray, target_db: float) -> float:
    """The gain in dB that brings ``(T, window)`` frames to speech level ``target_db``
    (at most :data:`MAX_LEVEL_GAIN_DB`)."""
    return min(target_db - speech_level_db(frames), MAX_LEVEL_GAIN_DB)


def median_speech_level(paths, cfg: FeatureConfig) -> float:
    """The median :func:`speech_level_db` of these recordings (a training set's level)."""
    levels = [speech_level_db(analysis_frames(load_audio(path, cfg.sample_rate), cfg)) for path in paths]
    return float(np.median(levels))


def log_mel(wave: np.ndarray, cfg: FeatureConfig, warp: float = 1.0) -> np.ndarray:
    """``(samples,)`` float -> ``(T, n_mels)`` float32 log-mel, T = :func:`num_frames`.

    Frames as :func:`analysis_frames` cuts them (no centering: a frame depends only on its
    own samples, and on the recording's speech level where ``cfg.level_db`` is set).
    ``warp``: the filterbank's VTLP factor (training only).
    """
    frames = analysis_frames(wave, cfg)
    win = frames.shape[1]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)).astype(np.float32)  # periodic Hann
    spectrum = np.fft.rfft(frames * window, n=cfg.n_fft, axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    filters = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, warp)  # (n_mels, bins)
    # einsum, not @: no BLAS call, so no BLAS threads wake in each data-loader worker (a
    # thread per core in every worker of several runs side by side made training crawl)
    mel = np.einsum("tf,mf->tm", power, filters)
    if cfg.level_db:  # samples scaled by g dB: every band's power by g dB
        mel *= np.float32(10 ** (level_gain_db(frames, cfg.level_db) / 10))
    return np.log(mel + LOG_FLOOR).astype(np.float32)


def finite_log_mel(wave: np.ndarray, cfg: FeatureConfig, path: str | Path = "<audio>") -> np.ndarray:
    """:func:`log_mel`, or :class:`AudioError` naming ``path`` when the features are not
    finite (float samples of an absurd size overflow the power spectrum): such a file
    fails alone instead of reaching a batch it shares with good ones."""
    with np.errstate(over="ignore", invalid="ignore"):  # said below, in one line
        features = log_mel(wave, cfg)
    if not np.isfinite(features).all():
        peak = float(np.abs(wave).max()) if len(wave) else 0.0
        raise AudioError(f"{path}: its features are not finite (samples up to {peak:.3g}; float audio should lie "
                         f"within [-1, 1])")
    return features
