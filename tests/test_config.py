import pytest
from conftest import ROOT

from recognize.config import Config, apply_overrides, load_config
from recognize.errors import ConfigError


@pytest.mark.parametrize("name", ["an4.yaml", "yesno.yaml"])
def test_shipped_configs_load(name):
    cfg = load_config(ROOT / "configs" / name)
    assert cfg.kind == "speech" and cfg.train.train_manifest


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  hiden: 128\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: model\.hiden: unknown key"):
        load_config(path)


def test_unknown_section_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("modle: {}\n")
    with pytest.raises(ConfigError, match=r"modle: unknown key"):
        load_config(path)


@pytest.mark.parametrize("override, message", [
    ("model.hidden=big", r"model\.hidden: expected int, got 'big'"),
    ("model.hidden=-3", r"model\.hidden: must be > 0"),
    ("train.lr=0", r"train\.lr: must be > 0"),
    ("model.frontend=transformer", r"model\.frontend: must be"),
    ("model.subsample=3", r"model\.subsample: the conv frontend"),
    ("augment.speed_factors=[0.9, fast]", r"augment\.speed_factors\[1\]: expected float"),
    ("features.n_fft=128", r"features\.n_fft: must be at least the window"),
    ("model", r"--set model: expected key=value"),
    ("features.n_mels=5", r"features\.n_mels: the conv frontend needs at least 7 mel bins"),
    ("features.level_db=6", r"features\.level_db: must be below 0"),
])
def test_bad_values_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_overrides_are_typed():
    cfg = apply_overrides(Config(), ["train.lr=3e-4", "model.layers=2", "augment.speed_factors=[1.0]"])
    assert cfg.train.lr == pytest.approx(3e-4) and isinstance(cfg.train.lr, float)
    assert cfg.model.layers == 2
    assert cfg.augment.speed_factors == [1.0]


def test_int_accepted_for_float():
    cfg = load_config(None, ["train.lr=1"])
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)


def test_not_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: not valid YAML"):
        load_config(path)


@pytest.mark.parametrize("overrides, message", [
    (["model.cnn_channels=[8, 8, 8, 8, 8, 8, 8]"], r"model\.cnn_channels: each block halves the height: 7 blocks "
                                                   r"leave no rows of a 64-pixel line"),
    (["model.subsample=64"], r"model\.subsample: the cnn frontend reduces the width by a power of 2, at most 2 per"),
    (["model.subsample=6"], r"model\.subsample: the cnn frontend"),
    (["image.height=4"], r"image\.height: must be >= 8"),
])
def test_frame_rate_reductions_that_leave_nothing_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(ROOT / "configs" / "copiste.yaml", overrides)
