"""Knowledge distillation: a trained model (the teacher) shows the model in training (the
student) its posteriors frame by frame, beside the CTC loss.

A new recurrent cell starts CTC training in the all-blank plateau, and some seeds never
leave it; a teacher's frame posteriors say from the first step where each label fires
(frame-level distillation, as Kurata and Audhkhasi 2018 taught a unidirectional LSTM CTC
model by a bidirectional one). The teacher reads each utterance as recorded, the student
the same through its augmentation (another channel, SpecAugment's masks): it learns to
read noisy, band-limited or masked speech as its teacher reads the clean recording (Li
et al. 2017's teacher-student adaptation). Frames pair one to one (same input length,
same frame rate):

    loss = (1 - w) * CTC  +  w * sum over frames of KL(teacher || student)

with ``w`` = ``train.distill``; both terms are summed over an utterance's frames.
"""

from __future__ import annotations

import torch

from ..config import Config
from ..errors import ConfigError, ModelError
from ..inputs.text import Alphabet
from ..model.checkpoint import model_from_checkpoint, read_checkpoint
from ..model.ctc import CTCModel


def taught(cfg: Config) -> bool:
    """Whether a ``train.teacher`` takes part in training (and so speech items carry clean copies)."""
    return bool(cfg.train.teacher and cfg.train.distill)


def load_teacher(path: str, cfg: Config, alphabet: Alphabet, device: torch.device) -> CTCModel:
    """The ``train.teacher`` checkpoint as a frozen model in eval mode on ``device``; a
    :class:`ConfigError` unless it reads the same input (kind, features or image settings,
    frame rate) into the same alphabet as the model in training."""
    try:
        teacher, teacher_cfg, teacher_alphabet = model_from_checkpoint(read_checkpoint(path), path)
    except ModelError as e:
        raise ConfigError(f"train.teacher: {e}") from None
    inputs = "features" if cfg.kind == "speech" else "image"  # the settings that make its input
    same = {"kind": (teacher_cfg.kind, cfg.kind),
            "alphabet": (teacher_alphabet.symbols, alphabet.symbols),
            f"{inputs.rstrip('s')} settings": (getattr(teacher_cfg, inputs), getattr(cfg, inputs)),
            "frame rate": (teacher_cfg.model.subsample, cfg.model.subsample)}
    differ = [name for name, (theirs, ours) in same.items() if theirs != ours]
    if differ:
        raise ConfigError(f"train.teacher: {path} does not read as this model does: not the same {', '.join(differ)}")
    return teacher.to(device).requires_grad_(False)


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, out_lens: torch.Tensor) -> torch.Tensor:
    """``sum over utterances and their frames of KL(teacher || student)``: ``student``,
    ``teacher`` ``(N, T', V)`` log-probabilities, ``out_lens`` ``(N,)`` valid frames each;
    frames past an utterance's length count nothing."""
    if student.shape != teacher.shape:
        raise ConfigError(f"train.teacher: its output {tuple(teacher.shape)} does not pair frame by frame with the "
                          f"model's {tuple(student.shape)} (another frontend?)")
    valid = torch.arange(student.shape[1], device=student.device)[None, :] < out_lens[:, None]  # (N, T')
    teacher = teacher.float()
    per_frame = (teacher.exp() * (teacher - student.float())).sum(-1)  # (N, T')
    return (per_frame * valid).sum()
