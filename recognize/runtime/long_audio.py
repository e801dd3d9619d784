"""Hour-long recordings in bounded memory: stream, cut at pauses, recognize the pieces, stitch.

A recording longer than :data:`LONG_SECONDS` is never loaded whole. It is read from disk
in blocks, mixed down and resampled block by block (soxr's streaming resampler), and cut
at pauses found by short-time energy (an energy-based voice activity detector): in the
middle of the first stretch of at least :data:`PAUSE_SECONDS` quieter than the noise
floor + :data:`PAUSE_DB` once a segment has :data:`MIN_SEGMENT_SECONDS`, and where no
pause comes within :data:`SEGMENT_SECONDS`, at the quietest stretch of that window's
second half. Cutting at every pause keeps the pieces close to the single utterances
the models are trained on: fed several utterances at once, the AN4 model makes more
errors (see docs/reading.md, "Long recordings"). The segments are recognized in batches
like short files and their hypotheses joined, word times shifted by where each segment
starts. Memory stays
that of a batch of segments, whatever the length of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from ..decoding.hypothesis import Hypothesis, Token, Word
from ..errors import AudioError
from ..inputs.audio import unreadable

LONG_SECONDS = 60.0  # longer files take this path
SEGMENT_SECONDS = 20.0  # the longest piece the model sees
BLOCK_SECONDS = 10.0  # read from disk this much at a time
MIN_SEGMENT_SECONDS = 1.0  # no cut before this much of a segment
PAUSE_SECONDS = 0.2  # the shortest pause cut at
PAUSE_DB = 15.0  # a pause is this much above the window's noise floor (10th percentile of frame energy), or less


def duration_of_file(path: str | Path) -> float | None:
    """Seconds of audio by the file's header; None if the header cannot be read
    (loading the file then gives the clear error)."""
    import soundfile as sf

    from ..inputs.files import check_regular

    try:
        check_regular(path)  # a FIFO would block here
        return sf.info(str(path)).duration
    except Exception:
        return None


def frame_energy_db(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean power of each 10 ms frame, in dB."""
    hop = sample_rate // 100
    frames = wave[: len(wave) // hop * hop].reshape(-1, hop).astype(np.float64)
    return 10 * np.log10((frames**2).mean(axis=1) + 1e-10)


def pause_cut(wave: np.ndarray, sample_rate: int) -> int | None:
    """The sample in the middle of the first pause that starts after
    :data:`MIN_SEGMENT_SECONDS` (see the module docstring), or None if there is none."""
    energy = frame_energy_db(wave, sample_rate)
    if len(energy) == 0:
        return None
    quiet = np.r_[False, energy < np.percentile(energy, 10) + PAUSE_DB, False]
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    for begin, end in zip(edges[::2], edges[1::2]):  # runs of quiet frames [begin, end)
        if end - begin >= PAUSE_SECONDS * 100 and begin >= MIN_SEGMENT_SECONDS * 100 and end < len(energy):
            return (begin + end) // 2 * (sample_rate // 100)
    return None


def quietest_cut(wave: np.ndarray, sample_rate: int) -> int:
    """A sample index in the second half of ``wave`` at the middle of its quietest
    :data:`PAUSE_SECONDS` (lowest mean power over 10 ms frames)."""
    half = len(wave) // 2
    power = 10 ** (frame_energy_db(wave[half:], sample_rate) / 10)
    width = max(1, min(len(power), round(PAUSE_SECONDS * 100)))
    smoothed = np.convolve(power, np.ones(width) / width, mode="valid")
    return half + (int(smoothed.argmin()) + width // 2) * (sample_rate // 100)


def stream_segments(path: str | Path, sample_rate: int,
                    segment_seconds: float = SEGMENT_SECONDS) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(start in seconds, (samples,) float32 mono at sample_rate)`` pieces of the
    file, in order, each at most ``segment_seconds`` long, cut at pauses.

    Raises :class:`AudioError` naming the file if it cannot be decoded, or holds NaN or
    infinite samples, wherever in the file that is found.
    """
    import soundfile as sf

    try:
        source = sf.SoundFile(str(path))
    except Exception as e:
        raise AudioError(unreadable(path, e)) from None
    longest = int(segment_seconds * sample_rate)
    with source:
        resampler = None
        if source.samplerate != sample_rate:
            import soxr

            resampler = soxr.ResampleStream(source.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        buffer, start = np.zeros(0, np.float32), 0
        blocks = source.blocks(blocksize=int(BLOCK_SECONDS * source.samplerate), dtype="float32", always_2d=True)
        while True:
            try:
                block = next(blocks, None)
            except Exception as e:
                raise AudioError(unreadable(path, e)) from None
            last = block is None
            if not last and not np.isfinite(block).all():
                raise AudioError(f"{path}: contains NaN or infinite samples")
            mono = np.zeros(0, np.float32) if last else block.mean(axis=1, dtype=np.float32)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=last)
            buffer = np.concatenate([buffer, mono])
            while len(buffer) > longest or (last and len(buffer)):
                cut = pause_cut(buffer[:longest], sample_rate)
                if cut is None:
                    cut = quietest_cut(buffer[:longest], sample_rate) if len(buffer) > longest else len(buffer)
                yield start / sample_rate, buffer[:cut]
                start, buffer = start + cut, buffer[cut:]
            if last:
                break


def join_hypotheses(pieces: list[tuple[float, Hypothesis]], frame_unit: float) -> Hypothesis:
    """One hypothesis from ``(start in seconds, hypothesis)`` pieces in order: texts
    joined by spaces, words shifted by their piece's start, tokens by as many frames."""
    text, tokens, words = [], [], []
    for start, hyp in pieces:
        if hyp.text:
            text.append(hyp.text)
        offset = round(start / frame_unit)
        tokens += [Token(t.label, t.start + offset, t.end + offset, t.prob) for t in hyp.tokens]
        words += [Word(w.word, round(w.start + start, 3), round(w.end + start, 3), w.confidence) for w in hyp.words]
    return Hypothesis(" ".join(text), tokens, words, frame_unit)
