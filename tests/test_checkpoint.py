from pathlib import Path

import pytest
import torch

from recognize.config import Config
from recognize.errors import ModelError
from recognize.inputs.text import Alphabet
from recognize.model.checkpoint import load_checkpoint, release_checkpoint, save_checkpoint
from recognize.model.ctc import CTCModel


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    cfg = Config()
    cfg.model.hidden, cfg.model.layers, cfg.model.conv_channels = 32, 2, 4
    alphabet = Alphabet.from_texts(["YES NO"])
    model = CTCModel(cfg.model, cfg.features.n_mels, len(alphabet)).eval()
    model.normalizer.mean.uniform_(-3, 3)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, cfg, alphabet, train_state={"epoch": 3})
    return path, model, cfg, alphabet


def test_round_trip(saved):
    path, model, cfg, alphabet = saved
    loaded, cfg2, alphabet2 = load_checkpoint(path)
    assert cfg2 == cfg and alphabet2 == alphabet
    x, lengths = torch.randn(2, 60, 80), torch.tensor([60, 41])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, lengths)[0], model(x, lengths)[0], atol=0, rtol=0)
    assert not any(p.exists() for p in path.parent.glob(".*tmp*"))  # the temp file was renamed away


def test_release_is_smaller_and_decodes_the_same(saved):
    path, model, _, _ = saved
    release_checkpoint(path, path.with_name("release.pt"))
    small, _, _ = load_checkpoint(path.with_name("release.pt"))
    assert path.with_name("release.pt").stat().st_size < 0.6 * path.stat().st_size
    assert small.normalizer.mean.dtype == torch.float32
    torch.testing.assert_close(small.normalizer.mean, model.normalizer.mean, atol=0, rtol=0)
    x, lengths = torch.randn(1, 80, 80), torch.tensor([80])
    with torch.no_grad():
        torch.testing.assert_close(small(x, lengths)[0], model(x, lengths)[0], atol=2e-2, rtol=0)


class RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /tmp/recognize-pwned",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "recognize", "version": 1, "model": RunsCode()}, path)
    with pytest.raises(ModelError, match="refused"):
        load_checkpoint(path)
    assert not Path("/tmp/recognize-pwned").exists()


def test_other_files_are_refused(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        load_checkpoint(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(ModelError, match="not a recognize checkpoint"):
        load_checkpoint(other)
    text = tmp_path / "text.pt"
    text.write_text("not a model")
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        load_checkpoint(text)


def test_release_with_a_speech_level_keeps_the_weights_and_scales_recordings(saved, tmp_path):
    """`recognize release --level-from MANIFEST`: the median active speech level of the
    manifest's recordings goes into features.level_db; the weights are those of a plain release."""
    import json

    import numpy as np
    import soundfile as sf
    from conftest import SAMPLES, run_cli

    from recognize.inputs.audio import analysis_frames, load_audio, speech_level_db

    path, _, cfg, _ = saved
    rows = []
    for gain, name in zip((0.1, 1.0, 3.0), ("cen8-mmtm-b", "cen7-fjam-b", "cen8-mmtm-b")):
        wave = load_audio(SAMPLES / f"{name}.wav", 16000) * np.float32(gain)
        sf.write(tmp_path / f"{gain}.wav", wave, 16000, subtype="FLOAT")
        rows.append({"id": str(gain), "audio": f"{gain}.wav"})
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    levels = [speech_level_db(analysis_frames(load_audio(tmp_path / r["audio"], 16000), cfg.features)) for r in rows]

    done = run_cli("release", path, "-o", tmp_path / "levelled.pt", "--level-from", tmp_path / "train.jsonl")
    assert done.returncode == 0, done.stderr
    release_checkpoint(path, tmp_path / "plain.pt")
    levelled, plain = (torch.load(tmp_path / f, weights_only=True) for f in ("levelled.pt", "plain.pt"))
    assert levelled["config"]["features"]["level_db"] == round(sorted(levels)[1], 1) != 0
    assert plain["config"]["features"]["level_db"] == 0
    assert all(torch.equal(levelled["model"][k], plain["model"][k]) for k in plain["model"])


def test_release_refuses_a_speech_level_for_a_handwriting_model(tmp_path):
    from conftest import ROOT, run_cli

    (tmp_path / "m.jsonl").write_text("")
    done = run_cli("release", ROOT / "recognize/models/copiste/model.pt", "-o", tmp_path / "x.pt",
                   "--level-from", tmp_path / "m.jsonl")
    assert done.returncode == 1 and not (tmp_path / "x.pt").exists()
    assert done.stderr.strip().endswith("--level-from is for speech models; this one is a handwriting model")
