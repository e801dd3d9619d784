"""`recognize read` and `evaluate` on real handwritten line images."""

import json

from conftest import LINES, ROOT, SAMPLES, SHARED_DATA, needs, run_cli, run_cli_loading
from PIL import Image

from recognize.inputs.image import load_line

IMAGES = sorted(LINES.glob("*.png"))


def test_read_json_places_characters_on_the_image(handwriting_model, tmp_path):
    done = run_cli("read", *IMAGES, "--model", handwriting_model, "--format", "json", "--output-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    for image in IMAGES:
        record = json.loads((tmp_path / f"{image.stem}.json").read_text(encoding="utf-8"))
        assert record["width"] == Image.open(image).width
        chars = record["characters"]
        assert " ".join("".join(c["char"] for c in chars).split()) == record["text"]
        assert all(0 <= c["x0"] < c["x1"] <= record["width"] + 8 and 0 < c["confidence"] <= 1 for c in chars)
        assert [c["x0"] for c in chars] == sorted(c["x0"] for c in chars)


def test_reading_line_images_leaves_the_page_finder_unloaded():
    """The line finder's scipy.ndimage takes half a second to import: only pages pay it;
    and with stderr not a terminal no progress bar is drawn, so tqdm is not imported."""
    for images, loaded in ((IMAGES, False), ([*IMAGES, SAMPLES / "wikitexte_0063.jpg"], True)):
        done, modules = run_cli_loading(["scipy.ndimage", "tqdm"], "read", *images, "--decoder", "greedy")
        assert done.returncode == 0, done.stderr
        assert modules == (["scipy.ndimage"] if loaded else []), done.stdout


def test_read_reports_bad_images_and_goes_on(handwriting_model, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(IMAGES[0].read_bytes()[:100])
    done = run_cli("read", IMAGES[0], broken, tmp_path / "missing.png", "--model", handwriting_model)
    assert done.returncode == 1 and len(done.stdout.strip().splitlines()) == 1
    assert f"{broken}: truncated or unreadable image" in done.stderr
    assert "2 of 3 files failed" in done.stderr and "Traceback" not in done.stderr


def test_the_bundled_model_reads_grey_paper_and_dim_ink_as_the_scan(tmp_path):
    """The bundled copiste model stretches each line's contrast (image.stretch): a copy of a
    real line on grey paper in faint ink reads as the scan does."""
    import numpy as np

    gray = np.asarray(Image.open(IMAGES[0]).convert("L"), dtype=np.float32) / 255
    dim = tmp_path / "dim.png"
    Image.fromarray(np.round(255 * (0.3 + 0.45 * gray)).astype(np.uint8)).save(dim)  # paper 0.75, ink 0.3
    done = run_cli("read", IMAGES[0], dim)
    assert done.returncode == 0, done.stderr
    scan, copy = (line.split(": ", 1)[1] for line in done.stdout.strip().splitlines())
    assert copy == scan and len(scan) > 10


def test_a_folder_stands_for_its_line_images():
    """tests/data/copiste holds the line images, their .gt.txt transcripts and a README."""
    folder = run_cli("read", LINES)
    assert folder.returncode == 0, folder.stderr
    assert folder.stdout == run_cli("read", *IMAGES).stdout and len(folder.stdout.splitlines()) == len(IMAGES)


def test_evaluate_image_manifest(handwriting_model, line_manifest):
    done = run_cli("evaluate", line_manifest, "--model", handwriting_model, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("n", "wer", "cer", "substitutions", "deletions", "insertions", "wall_seconds", "lines_per_second"):
        assert key in summary
    assert summary["n"] == 3 and "rtfx" not in summary


def test_kinds_are_not_mixed(handwriting_model):
    done = run_cli("transcribe", SAMPLES / "cen7-fjam-b.wav", "--model", handwriting_model)
    assert done.returncode == 1 and "a handwriting model; use `recognize read`" in done.stderr
    done = run_cli("read", IMAGES[0], "--decoder", "greedy")  # the bundled handwriting model
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    done = run_cli("read", IMAGES[0], "--model", ROOT / "recognize" / "models" / "an4" / "model.onnx")
    assert done.returncode == 1 and "a speech model; use `recognize transcribe`" in done.stderr


def test_load_line_keeps_the_original_width():
    from PIL import Image

    pixels, width = load_line(IMAGES[0], 32)
    assert width == Image.open(IMAGES[0]).width
    assert pixels.shape == (32, round(width * 32 / 64))


def test_lines_command_builds_manifests(tmp_path):
    done = run_cli("lines", "gt-folder", LINES, "-o", tmp_path / "gt.jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(l) for l in (tmp_path / "gt.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["text"] for r in rows} == {p.with_suffix(".gt.txt").read_text(encoding="utf-8").strip() for p in IMAGES}
    done = run_cli("lines", "iam", tmp_path / "missing-lines.txt", "-o", tmp_path / "iam.jsonl")
    assert done.returncode == 1 and "missing-lines.txt: cannot read" in done.stderr


@needs(SHARED_DATA / "copiste" / "pages")
def test_lines_command_cuts_pages(tmp_path):
    pages = sorted((SHARED_DATA / "copiste" / "pages").glob("*.xml"))
    done = run_cli("lines", "pages", *pages, "-o", tmp_path / "pages.jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(l) for l in (tmp_path / "pages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 87 and all((tmp_path / r["image"]).exists() for r in rows)
