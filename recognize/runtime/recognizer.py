"""A loaded model ready to use: file -> model input -> batched forward -> CTC decoding.

Two backends share everything here and differ only in :meth:`Recognizer.forward`:
exported models (``.onnx``) run on onnxruntime (:mod:`.onnx_backend`), checkpoints
(``.pt``) on torch (:mod:`.torch_backend`); :func:`recognize.runtime.loading.load_model`
picks one. This module, and the ONNX path through it, never import torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..decoding.hypothesis import Hypothesis
from ..decoding.spec import build_decoder
from ..errors import RecognizeError
from ..inputs.audio import STEADY_RANGE_DB, finite_log_mel, loudness_range_db
from ..kinds import kind_named

WINDOW = 8  # files read ahead, in batches: the batches are formed by length among them


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices into ``lengths`` grouped into batches of similar lengths (shortest first)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[b : b + batch_size] for b in range(0, len(order), batch_size)]


class Recognizer:
    """Speech or handwriting recognizer: a config, an alphabet, a decoder and a ``forward``."""

    def __init__(self, cfg, alphabet, decoder="greedy", path=None):
        self.cfg, self.alphabet, self.path = cfg, alphabet, path
        self.kind = kind_named(cfg.kind)
        self.decode = build_decoder(decoder, path)  # a spec: see recognize.decoding.spec
        self.frame_unit = cfg.frame_unit  # seconds, or pixels of the normalized line

    @property
    def decoder_name(self) -> str:
        """``greedy``, or the beam search and its settings."""
        return getattr(self.decode, "description", "greedy")

    def forward(self, batch: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, T, F)`` float32 zero-padded inputs + ``(N,)`` int64 lengths ->
        ``(N, T', V)`` log-probabilities + ``(N,)`` int64 output lengths."""
        raise NotImplementedError

    def features(self, path: str | Path) -> tuple[np.ndarray, float, float]:
        """A file -> (``(T, F)`` model input, its extent, what one output frame spans):
        see :meth:`recognize.kinds.Kind.features`."""
        return self.kind.features(path, self.cfg)

    def pad(self, feats: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(T_i, F)`` inputs -> ``(N, T, F)`` zero-padded batch (T at least the model's
        ``min_frames``) and ``(N,)`` int64 lengths."""
        lengths = np.array([len(f) for f in feats], dtype=np.int64)
        batch = np.zeros((len(feats), max(lengths.max(), self.cfg.model.min_frames), feats[0].shape[1]), np.float32)
        for i, f in enumerate(feats):
            batch[i, : len(f)] = f
        return batch, lengths

    def batches(self, inputs: list[np.ndarray], batch_size: int = 16):
        """The one batched forward loop: yield ``(indices, log_probs (N, T', V), out_lens (N,))``
        for batches of the ``(T_i, F)`` ``inputs`` of similar lengths. Int8 models quantize
        each batch's activations with its own scale, so every caller batches alike."""
        for indices in length_batches([len(x) for x in inputs], batch_size):
            yield indices, *self.forward(*self.pad([inputs[i] for i in indices]))

    def log_probs(self, inputs: list[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
        """``(T'_i, V)`` log-probabilities for each ``(T_i, F)`` input, read
        ``WINDOW * batch_size`` at a time as :meth:`transcribe_files` reads files."""
        outputs = [None] * len(inputs)
        for start in range(0, len(inputs), WINDOW * batch_size):
            for indices, log_probs, out_lens in self.batches(inputs[start : start + WINDOW * batch_size], batch_size):
                for row, i in enumerate(indices):
                    outputs[start + i] = log_probs[row, : int(out_lens[row])]
        return outputs

    def decode_features(self, feats: list[np.ndarray], units=None) -> list[Hypothesis]:
        """A batch of ``(T_i, F)`` inputs -> one hypothesis each (padded batch, exact);
        ``units``: what one output frame spans, per item (default: the model's)."""
        log_probs, out_lens = self.forward(*self.pad(feats))
        return self.hypotheses(feats, log_probs, out_lens, self.frame_unit if units is None else units)

    def hypotheses(self, feats: list[np.ndarray], log_probs: np.ndarray, out_lens: np.ndarray, units) -> list[Hypothesis]:
        """The decoder's reading of a batch's ``(N, T', V)`` log-probabilities. A recording
        with nothing louder than its steady floor (silence, steady noise) reads as no
        words: a model trained on speech would read letters into it."""
        hyps = self.decode(log_probs, out_lens, self.alphabet, units)
        if self.kind.unit == "seconds":
            hyps = [Hypothesis("", frame_unit=hyp.frame_unit) if self.is_steady(f) else hyp
                    for f, hyp in zip(feats, hyps)]
        return hyps

    def is_steady(self, log_mel: np.ndarray) -> bool:
        """Silence or steady noise: no frame rises :data:`STEADY_RANGE_DB` above the quietest."""
        return loudness_range_db(log_mel, self.cfg.features) < STEADY_RANGE_DB

    def is_long(self, path) -> bool:
        """A recording too long to recognize in one piece (see :mod:`.long_audio`)."""
        from .long_audio import LONG_SECONDS, duration_of_file

        return self.kind.unit == "seconds" and (duration_of_file(path) or 0) > LONG_SECONDS

    def transcribe_long(self, path, batch_size: int = 16) -> tuple[Hypothesis, float]:
        """A long recording, streamed in pieces cut at pauses -> (joined hypothesis, seconds)."""
        from .long_audio import join_hypotheses, stream_segments

        pieces, batch, seconds = [], [], 0.0

        def flush():
            hyps = self.decode_features([finite_log_mel(wave, self.cfg.features, path) for _, wave in batch])
            pieces.extend((start, hyp) for (start, _), hyp in zip(batch, hyps))
            batch.clear()

        for start, wave in stream_segments(path, self.cfg.features.sample_rate):
            batch.append((start, wave))
            seconds = start + len(wave) / self.cfg.features.sample_rate
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
        return join_hypotheses(pieces, self.frame_unit), seconds

    def transcribe_files(self, paths, batch_size: int = 16, on_error=None, progress=None, ordered: bool = True):
        """Yield ``(path, Hypothesis, extent)`` for each readable file (extent: seconds of
        audio, or the image's width in pixels): in input order, or with ``ordered=False``
        each batch as soon as it is done.

        Files are read ``WINDOW * batch_size`` at a time and batched by length
        within it, so that batches carry little padding; recordings longer than a
        minute are streamed and recognized in pieces (:meth:`transcribe_long`). A file
        that fails raises :class:`RecognizeError`, which goes to ``on_error(path,
        error)`` (and the file is skipped) when given. ``progress(n)`` is called as
        files finish.
        """
        paths = list(paths)
        for start in range(0, len(paths), WINDOW * batch_size):
            chunk = paths[start : start + WINDOW * batch_size]
            results = {}  # position in chunk -> (hypothesis, extent)
            read = []  # (position in chunk, features, extent, unit)
            for position, path in enumerate(chunk):
                try:
                    if self.is_long(path):
                        results[position] = self.transcribe_long(path, batch_size)
                    else:
                        read.append((position, *self.features(path)))
                        continue
                except RecognizeError as e:
                    if on_error is None:
                        raise
                    on_error(path, e)
                    if progress:
                        progress(1)
                    continue
                if not ordered:
                    yield path, *results[position]
                if progress:
                    progress(1)
            for indices, log_probs, out_lens in self.batches([r[1] for r in read], batch_size):
                batch = [read[i] for i in indices]
                hyps = self.hypotheses([r[1] for r in batch], log_probs, out_lens, [unit for *_, unit in batch])
                for (position, _, extent, _), hyp in zip(batch, hyps):
                    results[position] = (hyp, extent)
                    if not ordered:
                        yield chunk[position], hyp, extent
                if progress:
                    progress(len(batch))
            if ordered:
                yield from ((chunk[position], *results[position]) for position in sorted(results))
