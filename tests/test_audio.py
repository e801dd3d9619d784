from contextlib import nullcontext

import numpy as np
import pytest
import soundfile as sf
from conftest import SAMPLES, run_cli

from recognize.config import FeatureConfig
from recognize.errors import AudioError
from recognize.inputs.audio import (
    LOG_FLOOR,
    MAX_LEVEL_GAIN_DB,
    STEADY_RANGE_DB,
    analysis_frames,
    level_gain_db,
    load_audio,
    log_mel,
    loudness_range_db,
    mel_filterbank,
    num_frames,
    speech_level_db,
    vtlp_warp,
)
from recognize.runtime.long_audio import stream_segments
from recognize.training.augment import add_noise, coloured_noise

WAV = SAMPLES / "cen8-mmtm-b.wav"
CFG = FeatureConfig()


@pytest.fixture(scope="module")
def wave():
    return load_audio(WAV, 16000)


def test_sphere_and_wav_give_the_same_samples(wave):
    sphere = load_audio(SAMPLES / "cen8-mmtm-b.sph", 16000)
    assert sphere.dtype == np.float32 and sphere.shape == wave.shape
    np.testing.assert_array_equal(sphere, wave)


@pytest.mark.parametrize("fmt, subtype", [
    ("WAV", "PCM_U8"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III"),
])
def test_formats_decode_to_the_same_signal(tmp_path, wave, fmt, subtype):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, wave, 16000, format=fmt, subtype=subtype)
    got = load_audio(path, 16000)
    n = min(len(got), len(wave))
    assert abs(len(got) - len(wave)) < 2000  # lossy codecs may pad a frame
    if fmt in ("WAV", "FLAC"):  # lossless, or quantized to 8 bits
        assert np.abs(got[:n] - wave[:n]).max() < (1 / 64 if subtype == "PCM_U8" else 1e-4)
    else:  # lossy: compare energies, as the codec delay shifts samples
        assert np.std(got) == pytest.approx(np.std(wave), rel=0.2)


@pytest.mark.parametrize("channels", [2, 6])
def test_channels_are_mixed_down(tmp_path, wave, channels):
    path = tmp_path / "multi.wav"
    sf.write(path, np.stack([wave] * channels, axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, 16000), wave, atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled(tmp_path, wave, rate):
    from scipy.signal import resample_poly  # an independent resampler makes the input

    path = tmp_path / f"r{rate}.wav"
    sf.write(path, resample_poly(wave, rate, 16000).astype(np.float32), rate, subtype="FLOAT")
    from recognize.errors import RecognizeWarning

    with pytest.warns(RecognizeWarning, match="below the model's 16000 Hz") if rate < 16000 else nullcontext():
        got = load_audio(path, 16000)
    assert abs(len(got) - len(wave)) <= 2
    n = min(len(got), len(wave))
    a, b = log_mel(got[:n], CFG), log_mel(wave[:n], CFG)
    if rate == 8000:  # only the bands below 4 kHz survive
        keep = mel_filterbank(16000, 512, 80, 0.0, 0.0)[:, 257 // 2 + 8 :].sum(1) == 0
        a, b = a[:, keep], b[:, keep]
    assert np.median(np.abs(a - b)) < 0.1


def test_log_mel_matches_librosa(wave):
    """librosa_compatibility: the numpy log-mel equals librosa's Slaney melspectrogram."""
    import librosa

    # librosa centres the 400-sample window in its 512-sample frame: shift by 56 to align
    padded = np.pad(wave, (56, 56))
    ref = librosa.feature.melspectrogram(
        y=padded, sr=16000, n_fft=512, hop_length=160, win_length=400, window="hann",
        center=False, power=2.0, n_mels=80, htk=False, norm="slaney")
    ref = np.log(ref.T + 1e-6)
    ours = log_mel(wave, CFG)
    assert ours.shape == ref.shape == (num_frames(len(wave), CFG), 80)
    assert np.abs(ours - ref).max() < 1e-3


def test_frames_depend_only_on_their_samples(wave):
    """A prefix of the audio gives a prefix of the features (no centering, no look-ahead)."""
    whole = log_mel(wave, CFG)
    part = log_mel(wave[:16000], CFG)
    # equal but for float rounding (BLAS may sum a matrix product of another size in another order)
    np.testing.assert_allclose(part, whole[: len(part)], rtol=0, atol=1e-5)


def test_vtlp_moves_a_tone_across_the_mel_bands():
    """augment.vtlp: factor 1 is the plain filterbank; above 1 a tone's energy lands in
    higher bands (a shorter vocal tract), below 1 in lower ones; 0 Hz and Nyquist stay."""
    freqs = np.linspace(0, 8000, 257)
    for factor in (0.9, 1.1):
        warped = vtlp_warp(freqs, factor, 8000)
        assert warped[0] == 0 and warped[-1] == pytest.approx(8000) and np.all(np.diff(warped) > 0)
        assert warped[64] == pytest.approx(2000 * factor)  # linear part: scaled
    np.testing.assert_array_equal(mel_filterbank(16000, 512, 80, 0.0, 0.0, 1.0), mel_filterbank(16000, 512, 80, 0.0, 0.0))
    tone = np.sin(2 * np.pi * 1500 * np.arange(16000) / 16000).astype(np.float32)
    peak = {f: int(log_mel(tone, CFG, warp=f).mean(axis=0).argmax()) for f in (0.9, 1.0, 1.1)}
    assert peak[0.9] < peak[1.0] < peak[1.1]


def test_short_clip_gives_one_frame():
    assert log_mel(np.zeros(100, dtype=np.float32), CFG).shape == (1, 80)


def test_levelled_features_are_the_same_at_any_gain(wave):
    levelled = FeatureConfig(level_db=-25.0)
    ref = log_mel(wave, levelled)
    for gain_db in (-20, -6, 10, 20):  # float samples: +20 dB goes past full scale, as float files can
        np.testing.assert_allclose(log_mel(wave * np.float32(10 ** (gain_db / 20)), levelled), ref, atol=2e-3)
    # as recorded, -20 dB lowers the log power of every band well above the floor by ln(100)
    plain = log_mel(wave, CFG)
    loud = plain > np.log(LOG_FLOOR) + 10
    shift = log_mel(wave * np.float32(0.1), CFG) - plain
    np.testing.assert_allclose(shift[loud], -np.log(100), atol=0.01)


def test_speech_level_follows_the_gain_and_not_the_pauses(wave):
    level = speech_level_db(analysis_frames(wave, CFG))
    assert -40 < level < -15  # a real close-talking recording
    assert speech_level_db(analysis_frames(wave * np.float32(0.5), CFG)) == pytest.approx(level - 6.02, abs=0.01)
    # two seconds of room noise 50 dB below the speech on each side: the RMS level would drop by 3.7 dB
    pause = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * np.float32(10 ** ((level - 50) / 20))
    paused = speech_level_db(analysis_frames(np.concatenate([pause, wave, pause]), CFG))
    assert paused == pytest.approx(level, abs=0.05)


def test_a_near_silent_recording_is_raised_by_at_most_the_cap(wave):
    hiss = wave * np.float32(10 ** (-60 / 20))
    levelled = FeatureConfig(level_db=-25.0)
    assert level_gain_db(analysis_frames(hiss, CFG), -25.0) == MAX_LEVEL_GAIN_DB
    raised = hiss * np.float32(10 ** (MAX_LEVEL_GAIN_DB / 20))
    np.testing.assert_allclose(log_mel(hiss, levelled), log_mel(raised, CFG), atol=1e-4)
    silence = np.zeros(8000, dtype=np.float32)
    np.testing.assert_array_equal(log_mel(silence, levelled), log_mel(silence, CFG))


STEADY = [(colour, seconds, rms) for colour in ("white", "pink", "brown") for seconds in (0.5, 3) for rms in (1e-4, 0.3)]


@pytest.mark.parametrize("colour, seconds, rms", STEADY)
def test_steady_noise_has_a_small_loudness_range_and_speech_a_large_one_even_under_noise(wave, colour, seconds, rms):
    rng = np.random.default_rng(1)
    noise = (coloured_noise(int(seconds * 16000), colour, rng) * rms).astype(np.float32)
    assert loudness_range_db(log_mel(noise, CFG), CFG) < STEADY_RANGE_DB - 2
    noisy = add_noise(wave, 5.0, colour, rng)  # 5 dB under the noise: the model reads little, but it is speech
    assert loudness_range_db(log_mel(noisy, CFG), CFG) > STEADY_RANGE_DB + 5


def test_no_words_come_out_of_silence_or_steady_noise_and_speech_in_it_still_reads(tmp_path, wave):
    """The bundled model, as a user runs it: files of silence and noise read as nothing
    (it read white noise as X, pink as E, faint hiss as C); a real recording under white
    noise at 10 dB SNR still reads."""
    rng = np.random.default_rng(2)
    files = [tmp_path / "silence.wav"]
    sf.write(files[0], np.zeros(32000, np.float32), 16000)
    for colour, seconds, rms in STEADY:
        files.append(tmp_path / f"{colour}-{seconds}-{rms}.wav")
        sf.write(files[-1], coloured_noise(int(seconds * 16000), colour, rng) * rms, 16000)
    speech = tmp_path / "speech-in-noise.wav"
    sf.write(speech, add_noise(wave, 10.0, "white", rng), 16000)
    done = run_cli("transcribe", *files, speech, "--threads", "1")
    assert done.returncode == 0, done.stderr
    read = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in done.stdout.splitlines())
    assert {path: read[str(path)] for path in files} == {path: "" for path in files}
    assert len(read[str(speech)].split()) >= 3


def with_codec(wav: bytes, tag: int) -> bytes:
    """The WAV file with another codec named in its format chunk (one libsndfile cannot decode)."""
    at = wav.find(b"fmt ") + 8
    return wav[:at] + tag.to_bytes(2, "little") + wav[at + 2 :]


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b""), "not a readable audio file"),
    (lambda p: p.write_text("hello, I am a text file"), "not a readable audio file"),
    (lambda p: p.write_bytes(WAV.read_bytes()[:30]), "not a readable audio file"),
    (lambda p: p.write_bytes(with_codec(WAV.read_bytes(), 0x0161)), "not a readable audio file"),  # WMA in a WAV
])
def test_bad_files_get_one_clear_line(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message) as info:
        load_audio(path, 16000)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("read", [load_audio, lambda path, rate: list(stream_segments(path, rate))],
                         ids=["whole", "streamed"])
def test_a_format_libsndfile_cannot_decode_names_the_conversion(tmp_path, read):
    path = tmp_path / "memo.m4a"  # AAC in an MP4 container, as phones record: the 'ftyp' box opens it
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(range(256)) * 8)
    with pytest.raises(AudioError, match=r"memo.m4a: not a readable audio file \(libsndfile does not decode M4A; "
                                         r"convert it first, e.g. ffmpeg -i memo.m4a memo.wav\)$"):
        read(path, 16000)


def test_nan_samples_are_refused(tmp_path):
    path = tmp_path / "nan.wav"
    sf.write(path, np.array([0.0, np.nan, 0.1] * 100, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_audio(path, 16000)


def test_the_feature_threads_benchmark_times_each_process_and_names_a_failure(sample_manifest, tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "export" / "feature_threads.py"
    done = subprocess.run([sys.executable, script, sample_manifest, "--processes", "2", "--blas-threads", "2",
                           "--files", "2"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"2 processes x 2 BLAS threads, 2 files each: \d+\.\d\d \d+\.\d\d s\n", done.stdout), done.stdout
    missing = subprocess.run([sys.executable, script, tmp_path / "nope.jsonl", "--processes", "1"],
                             capture_output=True, text=True, cwd=tmp_path)
    expected = f"error: {tmp_path / 'nope.jsonl'}: cannot read manifest (No such file or directory)"
    assert missing.returncode == 1 and missing.stderr.strip() == expected
