"""Configuration: dataclasses are the single source of truth.

A YAML file mirrors :class:`Config`. Unknown keys, wrong types and impossible values
are errors that name the key (``model.hidden: expected int, got 'big'``), never
silently ignored. ``--set model.hidden=320`` overrides are parsed as YAML scalars
and type-checked the same way.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

CELLS = ("lstm", "lstmp", "gru", "rnn", "peephole", "cifg")  # see recognize.cells


@dataclass
class FeatureConfig:
    """Log-mel filterbank settings (speech)."""

    sample_rate: int = 16000
    n_mels: int = 80
    win_ms: float = 25.0  # analysis window
    hop_ms: float = 10.0  # frame shift: 100 frames per second
    n_fft: int = 512  # >= window length in samples (400 at 16 kHz)
    fmin: float = 0.0
    fmax: float = 0.0  # 0 means sample_rate / 2
    level_db: float = 0.0  # scale each recording to this speech level first (dB re full scale; 0: as recorded)


@dataclass
class ImageConfig:
    """Line-image settings (handwriting): every line is scaled to this height."""

    height: int = 64
    stretch: bool = False  # stretch each line's contrast: background to 0, ink to 1 (recognize.inputs.image)
    level: bool = False  # turn each line level along a baseline fitted under its ink (recognize.inputs.level)
    max_width: int = 10000  # pixels at `height`: a wider line image is refused (a text line is a few thousand)


@dataclass
class AugmentConfig:
    """Training-time augmentation; all off when the counts/factors are empty."""

    freq_masks: int = 2  # SpecAugment frequency masks per utterance
    freq_width: int = 15  # widest frequency mask, in mel bins
    time_masks: int = 2
    time_width: float = 0.05  # widest time mask, as a fraction of the utterance
    speed_factors: list[float] = field(default_factory=lambda: [0.9, 1.0, 1.1])
    distort: float = 0.0  # handwriting: probability of a random image distortion per line
    join: float = 0.0  # speech: probability that an utterance is followed by another (long audio)
    vtlp: float = 0.0  # speech: warp mel frequencies by a factor drawn from [1 - vtlp, 1 + vtlp]
    channel: float = 0.0  # speech: probability of another channel (silence, room, noise, EQ, telephone band)


@dataclass
class ModelConfig:
    """Frontend -> stacked bidirectional LSTM -> linear -> log-softmax."""

    frontend: str = "conv"  # speech: "conv" (two strided 3x3 convs) or "stack"; handwriting: "cnn"
    subsample: int = 4  # frame-rate (or width) reduction: conv 2 or 4, stack any >= 1, cnn a power of 2
    conv_channels: int = 32
    cnn_channels: list[int] = field(default_factory=lambda: [16, 32, 48, 64])  # one block each
    cell: str = "lstm"  # lstm, lstmp (with proj), gru, rnn, peephole or cifg (recognize.cells)
    hidden: int = 256  # recurrent units per direction
    layers: int = 3
    dropout: float = 0.2  # between LSTM layers and before the output layer
    proj: int = 0  # LSTM projection size (0: none)

    @property
    def min_frames(self) -> int:
        """The shortest input the frontend accepts (shorter inputs are padded up to it):
        the conv frontend's receptive field, or one output column of the cnn."""
        return {"conv": 7, "cnn": self.subsample}.get(self.frontend, 1)


@dataclass
class TrainConfig:
    train_manifest: str = ""
    train_shards: str = ""  # instead of train_manifest: a folder or http(s) URL of tar shards (recognize shard)
    shuffle_buffer: int = 2000  # with train_shards: items pooled for shuffling and length buckets
    dev_manifest: str = ""
    epochs: int = 60
    batch_seconds: float = 60.0  # speech: padded audio seconds per batch (length-bucketed)
    batch_width: int = 20000  # handwriting: padded pixels of line width per batch
    max_batch_size: int = 64
    lr: float = 1e-3  # peak learning rate after warm-up
    warmup_steps: int = 300
    final_lr_ratio: float = 0.02  # cosine decay ends at lr * this
    weight_decay: float = 1e-2
    grad_clip: float = 5.0
    patience: int = 0  # early stopping: epochs without dev improvement (0: never stop)
    seed: int = 1
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    threads: int = 0  # torch CPU threads (0: torch's default)
    num_workers: int = 0  # DataLoader workers
    init: str = ""  # fine-tune from this checkpoint (its model, feature and image settings are kept)
    init_alphabet: str = "union"  # with init: "union" (old symbols + new ones) or "new" (the new data's)
    freeze_frontend_steps: int = 0  # with init: train only the encoder and head for this many steps
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: off); dev and best.pt use it
    inter_ctc: float = 0.0  # weight of an intermediate CTC loss through the same head (Lee & Watanabe 2021; 0: off)
    inter_ctc_layer: int = 0  # the encoder layer it reads (0: the middle one, (model.layers + 1) // 2)
    teacher: str = ""  # a trained checkpoint reading the same input whose frame posteriors the model also learns
    distill: float = 0.5  # with teacher: the weight of its KL term against CTC's (recognize.training.distill)
    weight_noise: float = 0.0  # std of Gaussian noise on the weight matrices for each batch (Graves 2013; 0: off)
    keep_epochs: int = 5  # keep epoch snapshots of the last and the best N epochs (for recognize average)
    save_every_steps: int = 500  # also write last.pt every this many batches within an epoch (0: at epoch ends)
    max_nonfinite: int = 20  # stop after this many non-finite losses in a row (each one's batch is skipped)
    # auto (bf16 on CUDA, fp32 on CPU), fp32, bf16 (CUDA, or a CPU with bf16 instructions), fp16 (CUDA, scaled)
    precision: str = "auto"
    stats_utterances: int = 2000  # speech: utterances sampled for the normalization statistics


@dataclass
class Config:
    kind: str = "speech"  # or "handwriting"
    features: FeatureConfig = field(default_factory=FeatureConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def input_dim(self) -> int:
        """F of the model's ``(N, T, F)`` input: mel bands, or the image height (T is then the width)."""
        return self.features.n_mels if self.kind == "speech" else self.image.height

    @property
    def inter_ctc_at(self) -> int:
        """The encoder layer whose output intermediate CTC reads; 0 when it is off."""
        return (self.train.inter_ctc_layer or (self.model.layers + 1) // 2) if self.train.inter_ctc else 0

    @property
    def frame_unit(self) -> float:
        """What one output frame spans: seconds of audio (speech) or pixels of the
        height-normalized line (handwriting)."""
        if self.kind == "speech":
            return self.features.hop_ms / 1000 * self.model.subsample
        return float(self.model.subsample)


def _check_value(key: str, value, typ):
    """Return ``value`` converted to ``typ`` or raise ConfigError naming ``key``."""
    origin = typing.get_origin(typ)
    if origin is list:
        (item_type,) = typing.get_args(typ)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_check_value(f"{key}[{i}]", v, item_type) for i, v in enumerate(value)]
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is float and isinstance(value, str):  # YAML 1.1 reads 3e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if typ in (int, float, str, bool) and (type(value) is not typ):
        raise ConfigError(f"{key}: expected {typ.__name__}, got {value!r}")
    return value


def _fill(obj, values: dict, prefix: str) -> None:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(type(obj))
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in hints:
            known = ", ".join(hints)
            raise ConfigError(f"{path}: unknown key (known: {known})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            _fill(current, value, path + ".")
        else:
            setattr(obj, key, _check_value(path, value, hints[key]))


def validate(cfg: Config) -> Config:
    """Reject impossible values, naming the key."""
    f, m, a, t = cfg.features, cfg.model, cfg.augment, cfg.train
    speech = cfg.kind == "speech"
    checks = [
        (cfg.kind in ("speech", "handwriting"), "kind", "must be 'speech' or 'handwriting'"),
        (cfg.image.height >= 8, "image.height", "must be >= 8"),
        (f.sample_rate >= 1000, "features.sample_rate", "must be >= 1000"),
        (f.n_mels > 0, "features.n_mels", "must be > 0"),
        (f.hop_ms > 0 and f.win_ms > 0, "features.hop_ms", "window and hop must be > 0"),
        (f.n_fft >= round(f.sample_rate * f.win_ms / 1000), "features.n_fft",
         "must be at least the window length in samples"),
        (f.n_mels <= f.n_fft // 2 + 1, "features.n_mels", "must be at most n_fft/2 + 1"),
        (f.level_db <= 0, "features.level_db", "must be below 0 (dB re full scale), or 0 to leave recordings as recorded"),
        (m.frontend in (("conv", "stack") if speech else ("cnn",)), "model.frontend",
         "must be 'conv' or 'stack' for speech, 'cnn' for handwriting"),
        (m.frontend != "cnn" or 2 ** len(m.cnn_channels) <= cfg.image.height, "model.cnn_channels",
         f"each block halves the height: {len(m.cnn_channels)} blocks leave no rows of a "
         f"{cfg.image.height}-pixel line (image.height)"),
        (m.frontend != "cnn" or (m.subsample & (m.subsample - 1) == 0
                                 and m.subsample <= 2 ** len(m.cnn_channels)), "model.subsample",
         "the cnn frontend reduces the width by a power of 2, at most 2 per block"),
        (all(c > 0 for c in m.cnn_channels) and m.cnn_channels, "model.cnn_channels", "must be positive"),
        (m.subsample >= 1, "model.subsample", "must be >= 1"),
        (m.frontend != "conv" or m.subsample in (2, 4), "model.subsample",
         "the conv frontend reduces the frame rate by 2 or 4"),
        (m.frontend != "conv" or f.n_mels >= 7, "features.n_mels",
         "the conv frontend needs at least 7 mel bins (its two strided convolutions leave none of fewer)"),
        (m.hidden > 0, "model.hidden", "must be > 0"),
        (m.layers > 0, "model.layers", "must be > 0"),
        (0 <= m.dropout < 1, "model.dropout", "must be in [0, 1)"),
        (0 <= m.proj < m.hidden, "model.proj", "must be 0 or smaller than model.hidden"),
        (m.cell in CELLS, "model.cell", f"must be one of {', '.join(CELLS)}"),
        (m.cell != "lstmp" or m.proj > 0, "model.proj", "model.cell lstmp needs a projection size > 0"),
        (m.proj == 0 or m.cell in ("lstm", "lstmp"), "model.proj", "only lstm and lstmp cells have a projection"),
        (m.conv_channels > 0, "model.conv_channels", "must be > 0"),
        (a.freq_masks >= 0 and a.time_masks >= 0, "augment", "mask counts must be >= 0"),
        (0 <= a.time_width < 1, "augment.time_width", "must be in [0, 1)"),
        (all(0.5 <= s <= 2 for s in a.speed_factors), "augment.speed_factors",
         "must be between 0.5 and 2"),
        (t.epochs > 0, "train.epochs", "must be > 0"),
        (t.batch_seconds > 0, "train.batch_seconds", "must be > 0"),
        (t.batch_width > 0, "train.batch_width", "must be > 0"),
        (0 <= a.distort <= 1, "augment.distort", "must be in [0, 1]"),
        (0 <= a.join <= 1, "augment.join", "must be in [0, 1]"),
        (0 <= a.vtlp <= 0.3, "augment.vtlp", "must be in [0, 0.3]"),
        (0 <= a.channel <= 1, "augment.channel", "must be in [0, 1]"),
        (t.max_batch_size > 0, "train.max_batch_size", "must be > 0"),
        (t.lr > 0, "train.lr", "must be > 0"),
        (t.warmup_steps >= 0, "train.warmup_steps", "must be >= 0"),
        (t.grad_clip > 0, "train.grad_clip", "must be > 0"),
        (t.patience >= 0, "train.patience", "must be >= 0"),
        (t.init_alphabet in ("union", "new"), "train.init_alphabet", "must be 'union' or 'new'"),
        (0 <= t.ema < 1, "train.ema", "must be in [0, 1) (0: off; typical 0.999)"),
        (t.weight_noise >= 0, "train.weight_noise", "must be >= 0 (0: off)"),
        (0 <= t.inter_ctc < 1, "train.inter_ctc", "must be in [0, 1) (0: off; typical 0.3)"),
        (0 <= t.distill < 1, "train.distill", "must be in [0, 1) (the teacher's share of the loss; 0: CTC alone)"),
        (t.inter_ctc == 0 or m.layers > 1, "train.inter_ctc", "needs an encoder of 2 or more layers (model.layers)"),
        (0 <= t.inter_ctc_layer < m.layers, "train.inter_ctc_layer",
         f"must be a layer below the last, 1 to {m.layers - 1} (0: the middle one)"),
        (t.keep_epochs >= 0, "train.keep_epochs", "must be >= 0"),
        (t.save_every_steps >= 0, "train.save_every_steps", "must be >= 0"),
        (t.max_nonfinite > 0, "train.max_nonfinite", "must be > 0"),
        (t.precision in ("auto", "fp32", "bf16", "fp16"), "train.precision", "must be auto, fp32, bf16 or fp16"),
        (t.shuffle_buffer > 0, "train.shuffle_buffer", "must be > 0"),
        (t.stats_utterances > 0, "train.stats_utterances", "must be > 0"),
        (t.freeze_frontend_steps >= 0, "train.freeze_frontend_steps", "must be >= 0"),
    ]
    for ok, key, problem in checks:
        if not ok:
            raise ConfigError(f"{key}: {problem}")
    return cfg


def from_dict(values: dict) -> Config:
    cfg = Config()
    _fill(cfg, values or {}, "")
    return cfg


def flatten(values: dict, prefix: str = "") -> dict:
    """``{"model": {"hidden": 256}}`` -> ``{"model.hidden": 256}``."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def differences(a: dict, b: dict) -> dict[str, tuple]:
    """``{"model.hidden": (a's value, b's value)}`` for every setting in which two
    :meth:`Config.to_dict` dicts differ (a setting only one has counts as differing)."""
    a, b = flatten(a), flatten(b)
    return {key: (a.get(key), b.get(key)) for key in a | b if a.get(key) != b.get(key)}


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``key.sub=value`` strings; values are YAML scalars (``3e-4``, ``[1, 2]``)."""
    import yaml

    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item}: expected key=value")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        nested: dict = value
        for part in reversed(key.strip().split(".")):
            nested = {part: nested}
        _fill(cfg, nested, "")
    return cfg


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Read a YAML config (or the defaults when ``path`` is None), apply overrides, validate."""
    import yaml

    values = {}
    if path is not None:
        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        cfg = from_dict(values)
        apply_overrides(cfg, list(overrides))
        return validate(cfg)
    except ConfigError as e:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}{e}") from None
