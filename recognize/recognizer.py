"""A loaded model ready to use: file -> model input -> batched forward -> CTC decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .audio import load_audio, log_mel
from .checkpoint import load_checkpoint
from .model import frame_unit_of
from .decoding import DECODERS, Hypothesis
from .errors import RecognizeError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Recognizer:
    """Speech or handwriting recognizer around a checkpoint (model, config, alphabet)."""

    def __init__(self, model, cfg, alphabet, device: str = "cpu", decoder: str = "greedy", path=None):
        self.path = path
        self.decode = DECODERS[decoder]
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.cfg, self.alphabet = cfg, alphabet
        self.kind = cfg.kind
        self.frame_unit = frame_unit_of(cfg, model)  # seconds, or pixels of the normalized line

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", threads: int = 0, decoder: str = "greedy") -> "Recognizer":
        if threads:
            torch.set_num_threads(threads)
        return cls(*load_checkpoint(path), device=device, decoder=decoder, path=Path(path))

    def features(self, path: str | Path) -> tuple[np.ndarray, float, float]:
        """A file -> (``(T, F)`` model input, its extent, what one output frame spans).

        Speech: log-mel frames, seconds of audio, seconds per frame. Handwriting: the
        height-normalized line transposed ``(W, H)``, the image's width in pixels, and
        pixels of the original image per frame. Raises :class:`RecognizeError` (one line
        naming the file) if the file cannot be used.
        """
        if self.kind == "speech":
            wave = load_audio(path, self.cfg.features.sample_rate)
            return log_mel(wave, self.cfg.features), len(wave) / self.cfg.features.sample_rate, self.frame_unit
        from .image import load_line

        pixels, width = load_line(path, self.cfg.image.height)  # (H, W), original width
        return np.ascontiguousarray(pixels.T), float(width), self.frame_unit * width / pixels.shape[1]

    @torch.inference_mode()
    def decode_features(self, feats: list[np.ndarray], units=None) -> list[Hypothesis]:
        """A batch of ``(T_i, F)`` inputs -> one hypothesis each (padded batch, exact);
        ``units``: what one output frame spans, per item (default: the model's)."""
        lengths = torch.tensor([len(f) for f in feats], dtype=torch.int64)
        batch = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(f) for f in feats], batch_first=True)
        log_probs, out_lens = self.model(batch.to(self.device), lengths.to(self.device))
        units = self.frame_unit if units is None else units
        return self.decode(log_probs.cpu().numpy(), out_lens.cpu().numpy(), self.alphabet, units)

    def transcribe_files(self, paths, batch_size: int = 16, on_error=None, progress=None):
        """Yield ``(path, Hypothesis, extent)`` for each readable file, in input order
        (extent: seconds of audio, or the image's width in pixels).

        Files are read one by one; a file that fails raises :class:`RecognizeError`, which
        goes to ``on_error(path, error)`` (and the file is skipped) when given.
        ``progress(n)`` is called as files finish.
        """
        paths = list(paths)
        for start in range(0, len(paths), batch_size):
            chunk, feats, extents, units = [], [], [], []
            for path in paths[start : start + batch_size]:
                try:
                    f, extent, unit = self.features(path)
                except RecognizeError as e:
                    if on_error is None:
                        raise
                    on_error(path, e)
                    if progress:
                        progress(1)
                    continue
                chunk.append(path)
                feats.append(f)
                extents.append(extent)
                units.append(unit)
            if not feats:
                continue
            yield from zip(chunk, self.decode_features(feats, units), extents)
            if progress:
                progress(len(chunk))
