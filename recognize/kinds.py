"""What differs between the kinds of input, in one place: code asks the kind instead of
branching on its name.

A model reads one kind. ``Config.kind``, checkpoints and ONNX metadata spell it by
``name``; :func:`kind_named` turns the name into the :class:`Kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError


@dataclass(frozen=True)
class Kind:
    name: str  # "speech" or "handwriting", as configs, checkpoints and ONNX metadata spell it
    key: str  # the manifest field that names the file: "audio" or "image"
    media: str  # what its files are, in messages
    suffixes: tuple[str, ...]  # the files a folder given as input stands for
    unit: str  # what positions and extents are measured in
    extent: str  # the report field holding an input's size in that unit
    metric: str  # the headline error rate, the one "best" and tuning go by
    command: str  # the command that reads it
    model_input: str  # the ONNX graph's input: features (N, T, F) or images (N, 1, H, W)

    def __str__(self) -> str:
        return self.name

    def headline(self, record: dict) -> tuple[float, float]:
        """The headline rate first, the other as tie-break: what "lower is better" sorts by."""
        other = "cer" if self.metric == "wer" else "wer"
        return record[self.metric], record[other]

    def features(self, path: str | Path, cfg) -> tuple[np.ndarray, float, float]:
        """A file -> (``(T, F)`` model input, its extent in ``unit``, what one of the model's
        output frames spans in that unit: ``cfg.frame_unit`` scaled to the file). Raises :class:`~recognize.errors.RecognizeError` (one line
        naming the file) when the file cannot be used."""
        if self is SPEECH:
            from .inputs.audio import finite_log_mel, load_audio

            wave = load_audio(path, cfg.features.sample_rate)
            return finite_log_mel(wave, cfg.features, path), len(wave) / cfg.features.sample_rate, cfg.frame_unit
        from .inputs.image import load_line

        pixels, width = load_line(path, cfg.image.height, stretch=cfg.image.stretch, level=cfg.image.level,
                                  max_width=cfg.image.max_width, warn_small=True)  # (H, W), original width
        return np.ascontiguousarray(pixels.T), float(width), cfg.frame_unit * width / pixels.shape[1]


SPEECH = Kind("speech", "audio", "audio", (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".sph", ".aif", ".aiff",
                                             ".au"), "seconds", "duration", "wer", "transcribe", "features")
HANDWRITING = Kind("handwriting", "image", "line images", (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"),
                   "pixels", "width", "cer", "read", "images")
KINDS = {kind.name: kind for kind in (SPEECH, HANDWRITING)}


def kind_named(name: str) -> Kind:
    """The :class:`Kind` called ``name``; :class:`ConfigError` for any other name."""
    if name not in KINDS:
        raise ConfigError(f"kind: must be one of {', '.join(KINDS)}, not {name!r}")
    return KINDS[name]


def kind_of_row(row: dict) -> Kind:
    """The kind of one manifest row: handwriting for a row with an image, else speech."""
    return HANDWRITING if HANDWRITING.key in row else SPEECH


def kind_of_rows(rows: list[dict]) -> Kind:
    """The kind of a manifest's rows (its first row's): handwriting for rows of images, else speech."""
    return kind_of_row(rows[0]) if rows else SPEECH


def kind_of_files(paths: list[str]) -> Kind:
    """Handwriting when every path has an image suffix, else speech."""
    images = bool(paths) and all(str(p).lower().endswith(HANDWRITING.suffixes) for p in paths)
    return HANDWRITING if images else SPEECH
