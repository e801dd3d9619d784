"""Self-describing checkpoints that load without running code.

A checkpoint is a plain dict of tensors, numbers, strings and lists::

    {"format": "recognize", "version": 1, "config": {...resolved Config...},
     "alphabet": ["<blk>", " ", "A", ...], "model": state_dict,
     "train_state": {...optimizer, scheduler, epoch, RNG...} or absent}

It is read with ``torch.load(weights_only=True)``: a file that would execute code
is refused. Writes go to a temp file that is renamed into place, so a crash while
saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..atomic import atomic_write
from ..config import Config, from_dict, validate
from ..errors import ConfigError, ModelError, RecognizeError
from ..inputs.text import Alphabet
from .ctc import CTCModel

FORMAT, VERSION = "recognize", 1


def atomic_save(obj, path: str | Path) -> None:
    """torch.save to ``path`` through a temp file in the same folder + rename; a failed
    write (a full disk) raises :class:`RecognizeError` and leaves ``path`` as it was."""
    try:
        atomic_write(path, lambda tmp: torch.save(obj, tmp))
    except (OSError, RuntimeError) as e:  # torch reports a failed write as a RuntimeError
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
        raise RecognizeError(f"{path}: could not write the checkpoint ({reason}); the previous one is intact") from None


def save_checkpoint(path, model: CTCModel, cfg: Config, alphabet: Alphabet, train_state: dict | None = None) -> None:
    state = {
        "format": FORMAT,
        "version": VERSION,
        "config": cfg.to_dict(),
        "alphabet": list(alphabet.symbols),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if train_state is not None:
        state["train_state"] = train_state
    atomic_save(state, path)


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint dict safely; :class:`ModelError` if missing, unsafe or not ours."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        if "GLOBAL" in str(e) or "Unsupported global" in str(e):  # it names a function or class to call
            raise ModelError(f"{path}: refused: the file holds Python objects that would run code on load") from None
        reason = " ".join(str(e).split())[:160] or type(e).__name__  # torch's own words, on one line
        raise ModelError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelError(f"{path}: not a recognize checkpoint")
    if state.get("version", 0) > VERSION:
        raise ModelError(f"{path}: checkpoint version {state['version']} is newer than this recognize ({VERSION})")
    return state


def model_from_checkpoint(state: dict, path: str | Path = "checkpoint") -> tuple[CTCModel, Config, Alphabet]:
    """Rebuild ``(model in eval mode, config, alphabet)`` from a checkpoint dict."""
    try:
        cfg = validate(from_dict(state["config"]))
        alphabet = Alphabet(state["alphabet"])
        model = CTCModel(cfg.model, cfg.input_dim, len(alphabet))
        model.load_state_dict(state["model"])
    except (ConfigError, KeyError, ValueError, RuntimeError) as e:
        raise ModelError(f"{path}: inconsistent checkpoint ({str(e).splitlines()[0]})") from None
    return model.eval(), cfg, alphabet


def load_checkpoint(path: str | Path) -> tuple[CTCModel, Config, Alphabet]:
    """Read ``path`` and rebuild ``(model, config, alphabet)``."""
    return model_from_checkpoint(read_checkpoint(path), path)


def release_checkpoint(src: str | Path, dst: str | Path, inputs: dict | None = None) -> None:
    """Copy a training checkpoint without its training state, parameters stored in float16
    (half the size; cast back to float32 on load). Normalization statistics stay float32.
    ``inputs``: settings of how the model reads its input, to record without retraining,
    e.g. ``{"features": {"level_db": -28.0}}`` or ``{"image": {"stretch": True}}``."""
    state = read_checkpoint(src)
    state.pop("train_state", None)
    for section, values in (inputs or {}).items():
        state["config"][section].update(values)
    state["model"] = {
        k: v.half() if v.is_floating_point() and not k.startswith("normalizer.") else v
        for k, v in state["model"].items()
    }
    atomic_save(state, dst)


def init_from_checkpoint(model: CTCModel, state: dict, alphabet: Alphabet) -> int:
    """Load a checkpoint's weights into ``model`` whose output layer is for ``alphabet``,
    a different alphabet than the checkpoint's: every other weight is copied, and the
    output rows of the symbols both alphabets share keep their trained values (new
    symbols keep their fresh initialization). Returns the number of shared symbols."""
    old = Alphabet(state["alphabet"])
    weights = dict(state["model"])
    shared = [(alphabet.index[s], i) for i, s in enumerate(old.symbols) if s in alphabet.index]
    new_rows, old_rows = (torch.tensor(ix) for ix in zip(*shared))
    for name in ("head.weight", "head.bias"):
        resized = model.state_dict()[name].clone()
        resized[new_rows] = weights[name][old_rows].to(resized.dtype)
        weights[name] = resized
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise ModelError(f"the --init checkpoint does not fit the model ({str(e).splitlines()[0]})") from None
    return len(shared)
