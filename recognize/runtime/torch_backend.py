"""Checkpoints on torch: the :class:`~.recognizer.Recognizer` for ``.pt`` files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..model.checkpoint import load_checkpoint
from .recognizer import Recognizer


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class TorchRecognizer(Recognizer):
    """A :class:`~recognize.model.CTCModel` in eval mode on ``device``."""

    def __init__(self, model, cfg, alphabet, device: str = "cpu", decoder="greedy", path=None):
        super().__init__(cfg, alphabet, decoder, path)
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", threads: int = 0, decoder="greedy"):
        if threads:
            torch.set_num_threads(threads)
        return cls(*load_checkpoint(path), device=device, decoder=decoder, path=Path(path))

    @torch.inference_mode()
    def forward(self, batch: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        log_probs, out_lens = self.model(torch.from_numpy(batch).to(self.device),
                                         torch.from_numpy(lengths).to(self.device))
        return log_probs.float().cpu().numpy(), out_lens.cpu().numpy()
