"""Levelling handwritten lines (recognize.inputs.level): real Copiste lines turned by known
angles are found turned, levelled, and read by the bundled model as their level originals."""

import numpy as np
import pytest
import torch
from conftest import ROOT, run_cli
from PIL import Image

from recognize import load_model, read
from recognize.config import ImageConfig
from recognize.evaluation.metrics import corpus_errors
from recognize.inputs.image import load_image, open_image, to_gray
from recognize.inputs.level import LEVEL_DEGREES, baseline, ink_of, level_line
from recognize.inputs.text import Alphabet
from recognize.model.checkpoint import read_checkpoint, release_checkpoint
from recognize.training.data import line_item

LINE = ROOT / "tests" / "data" / "copiste" / "imp_wikitexte_0022_004.png"  # 469 x 64, "de la sélection du Laos."
LINES = [LINE, LINE.with_name("imp_wikitexte_0022_019.png")]  # the committed lines of more than a word
BUNDLED = ROOT / "recognize" / "models" / "copiste" / "model.pt"


def slope(gray: np.ndarray) -> float:
    """Degrees the baseline fitted under ``gray``'s ink climbs (image rows grow downwards)."""
    ys, xs = np.nonzero(ink_of(gray))
    (x0, y0), (x1, y1) = baseline(xs, ys)
    return float(np.degrees(np.arctan2(y0 - y1, x1 - x0)))


def turned(path, angle: float, paper: int = 255) -> np.ndarray:
    """The gray line image at ``path`` turned ``angle`` degrees anticlockwise, on ``paper``."""
    image = Image.open(path).convert("L")
    if paper != 255:
        image = Image.eval(image, lambda v: paper * v // 255)
    image = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=paper)
    return np.asarray(image, dtype=np.float32) / 255


@pytest.mark.parametrize("angle", [-5, -3, 3, 5])
def test_a_turned_line_is_found_turned_and_comes_back_level(angle):
    copy = turned(LINE, angle)
    assert slope(copy) == pytest.approx(angle, abs=1.5)  # the fit follows the letters to a degree or so
    levelled = level_line(copy)
    assert abs(slope(levelled)) < 1.5
    assert levelled.shape[1] == copy.shape[1]  # columns kept where they were
    assert levelled.shape[0] < copy.shape[0] - 15  # rows trimmed to the ink, no longer the turn's full height


def test_a_level_line_a_blank_one_and_a_word_are_left_as_they_are():
    gray = to_gray(open_image(LINE))
    assert abs(slope(gray)) < LEVEL_DEGREES and level_line(gray) is gray
    blank = np.ones((64, 400), np.float32)
    assert level_line(blank) is blank
    word = turned(LINE, 5)[:, :150]  # "de la": under three times as wide as high
    assert level_line(word) is word


def test_the_turns_corners_take_the_papers_grey():
    copy = turned(LINE, 4, paper=200)
    levelled = level_line(copy)
    corners = [levelled[0, 0], levelled[0, -1], levelled[-1, 0], levelled[-1, -1]]
    assert levelled is not copy and corners == pytest.approx([200 / 255] * 4, abs=0.02)


def test_load_image_levels_only_when_asked(tmp_path):
    path = tmp_path / "turned.png"
    Image.fromarray(np.round(turned(LINE, 4) * 255).astype(np.uint8)).save(path)
    as_it_is, levelled = load_image(path, 64), load_image(path, 64, level=True)
    assert as_it_is.shape[0] == levelled.shape[0] == 64
    assert levelled.shape[1] > as_it_is.shape[1]  # the same width, fewer rows: less shrunk to 64 high


def test_training_lines_are_levelled_when_the_config_says_so(tmp_path):
    path = tmp_path / "turned.png"
    Image.fromarray(np.round(turned(LINE, 4) * 255).astype(np.uint8)).save(path)
    row, alphabet = {"id": "turned", "image": str(path), "text": "de la"}, Alphabet.from_texts(["de la"])
    levelled = line_item(row, alphabet, ImageConfig(height=64, level=True))["features"].numpy()  # (W, H)
    np.testing.assert_array_equal(levelled, load_image(path, 64, level=True).T)
    assert levelled.shape[0] > line_item(row, alphabet, ImageConfig(height=64))["features"].shape[0]


def test_the_bundled_model_reads_turned_lines_better_for_levelling_them(tmp_path):
    """The two long committed lines turned 4 and 6 degrees either way: the bundled model
    (``image.level`` on) against the same weights released without it."""
    plain = tmp_path / "plain.pt"
    release_checkpoint(BUNDLED, plain, {"image": {"level": False}})
    levelling = load_model("copiste", threads=1, decoder="greedy")
    assert levelling.cfg.image.level and levelling.cfg.image.stretch
    paths, texts = [], []
    for line in LINES:
        for angle in (-6, -4, 4, 6):
            paths.append(tmp_path / f"{line.stem}{angle}.png")
            Image.fromarray(np.round(turned(line, angle) * 255).astype(np.uint8)).save(paths[-1])
            texts.append(line.with_suffix(".gt.txt").read_text().strip())
    errors = {name: corpus_errors(texts, [h.text for h in read(paths, model=model, layout="line")])["cer"]
              for name, model in (("levelled", levelling), ("as turned", load_model(plain, threads=1,
                                                                                   decoder="greedy",
                                                                                   kind="handwriting")))}
    assert errors["levelled"] < 0.8 * errors["as turned"], errors


def test_release_level_lines_records_it_and_keeps_the_weights(tmp_path):
    plain = tmp_path / "plain.pt"
    release_checkpoint(BUNDLED, plain, {"image": {"level": False}})
    done = run_cli("release", plain, "-o", tmp_path / "levelled.pt", "--level-lines")
    assert done.returncode == 0, done.stderr
    before, after = read_checkpoint(plain), read_checkpoint(tmp_path / "levelled.pt")
    assert not before["config"]["image"]["level"] and after["config"]["image"] == {**before["config"]["image"],
                                                                                   "level": True}
    assert all(torch.equal(before["model"][k], after["model"][k]) for k in before["model"])


def test_release_refuses_level_lines_for_a_speech_model(tmp_path):
    done = run_cli("release", ROOT / "recognize/models/an4/model.pt", "-o", tmp_path / "x.pt", "--level-lines")
    assert done.returncode == 1 and not (tmp_path / "x.pt").exists()
    assert done.stderr.strip().endswith("--level-lines is for handwriting models; this one is a speech model")
