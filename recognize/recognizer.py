"""A loaded model ready to transcribe: features -> batched forward -> greedy decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .audio import load_audio, log_mel
from .checkpoint import load_checkpoint
from .decoding import Hypothesis, greedy_decode
from .errors import RecognizeError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Recognizer:
    """Speech recognizer around a checkpoint (model, config, alphabet)."""

    def __init__(self, model, cfg, alphabet, device: str = "cpu"):
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.cfg, self.alphabet = cfg, alphabet
        self.sample_rate = cfg.features.sample_rate
        # one output frame covers hop x frame-rate reduction
        self.frame_seconds = cfg.features.hop_ms / 1000 * model.subsample

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", threads: int = 0) -> "Recognizer":
        if threads:
            torch.set_num_threads(threads)
        return cls(*load_checkpoint(path), device=device)

    def features(self, path: str | Path) -> np.ndarray:
        """Audio file -> ``(T, F)`` log-mel; raises :class:`AudioError` for unreadable files."""
        return log_mel(load_audio(path, self.sample_rate), self.cfg.features)

    @torch.inference_mode()
    def decode_features(self, feats: list[np.ndarray]) -> list[Hypothesis]:
        """A batch of ``(T_i, F)`` feature arrays -> one hypothesis each (padded batch, exact)."""
        lengths = torch.tensor([len(f) for f in feats], dtype=torch.int64)
        batch = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(f) for f in feats], batch_first=True)
        log_probs, out_lens = self.model(batch.to(self.device), lengths.to(self.device))
        return greedy_decode(log_probs.cpu().numpy(), out_lens.cpu().numpy(), self.alphabet, self.frame_seconds)

    def transcribe_files(self, paths, batch_size: int = 16, on_error=None, progress=None):
        """Yield ``(path, Hypothesis, audio_seconds)`` for each readable file, in input order.

        Files are read one by one; a file that fails raises :class:`RecognizeError`, which
        goes to ``on_error(path, error)`` (and the file is skipped) when given.
        ``progress(n)`` is called as files finish.
        """
        paths = list(paths)
        for start in range(0, len(paths), batch_size):
            chunk, feats = [], []
            for path in paths[start : start + batch_size]:
                try:
                    f = self.features(path)
                except RecognizeError as e:
                    if on_error is None:
                        raise
                    on_error(path, e)
                    if progress:
                        progress(1)
                    continue
                chunk.append(path)
                feats.append(f)
            if not feats:
                continue
            for path, f, hyp in zip(chunk, feats, self.decode_features(feats)):
                yield path, hyp, len(f) * self.cfg.features.hop_ms / 1000
            if progress:
                progress(len(chunk))
