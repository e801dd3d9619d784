"""Line corpora -> manifests: Copiste d'un jour from its line release and from its page
layout (the real data in ../shared/data), gt.txt folders and IAM lines.txt built from
real line images, and rows whose image is missing."""

import csv
import json
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from conftest import LINES, SHARED_DATA, needs, run_cli
from PIL import Image

from recognize.corpora import copiste
from recognize.corpora.lines import from_gt_folder, from_iam_lines, from_pages
from recognize.errors import RecognizeError
from recognize.inputs.image import load_image

COPISTE = SHARED_DATA / "copiste"
TEXTS = {  # tests/data/copiste/README.md
    "imp_wikitexte_0022_004": "de la sélection du Laos.",
    "imp_wikitexte_0022_019": "Veszprém en Hongrie.",
    "wikitexte_0044_2_001": "2",
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def released_rows() -> list[dict]:
    with open(COPISTE / "lines.tsv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))


def check_rows(manifest: Path) -> list[dict]:
    """Rows of a written manifest, each with an existing image and non-empty NFC text."""
    rows = read_jsonl(manifest)
    for row in rows:
        assert not Path(row["image"]).is_absolute() and (manifest.parent / row["image"]).is_file()
        assert row["text"] and unicodedata.is_normalized("NFC", row["text"])
    assert len({row["id"] for row in rows}) == len(rows)
    return rows


@needs(COPISTE)
def test_copiste_line_release(tmp_path):
    paths = copiste.prepare(str(COPISTE), tmp_path / "out")
    assert set(paths) == {"train", "val"}
    train, val = check_rows(paths["train"]), check_rows(paths["val"])
    assert (len(train), len(val)) == (4765, 638)
    assert not {r["writer"] for r in train} & {r["writer"] for r in val}
    released = {r["line_id"]: r for r in released_rows()}
    for split, rows in (("train", train), ("val", val)):
        for row in rows:
            source = released[row["id"]]
            assert source["kind"] == "text" and source["split"] == split
            assert row["text"] == " ".join(unicodedata.normalize("NFC", source["text"]).split())
            assert (row["writer"], row["width"], row["height"]) == (source["writer"], int(source["width"]), 64)
    assert {r["line_id"] for r in released.values() if r["kind"] == "text"} == {r["id"] for r in train + val}
    # A quote reads as the page's ALTO has it (the release escapes it as \"; the ink has none)
    (quoted,) = [r for r in val if r["id"] == "imp_wikitexte_0163_008"]
    alto = (COPISTE / "pages" / "val" / "imp_wikitexte_0163.xml").read_text(encoding="utf-8")
    assert quoted["text"] == 'surnommé "Bertoni l\'orbo" ou "Bertoncino", est'
    assert 'CONTENT="surnommé &quot;Bertoni l&#x27;orbo&quot; ou &quot;Bertoncino&quot;, est"' in alto
    assert not any("\\" in r["text"] for r in train + val)
    # What the page layout drops as reference numbers is exactly the release's kind "id".
    assert all(bool(copiste.REFERENCE.search(r["text"])) == (r["kind"] == "id") for r in released.values())


@needs(COPISTE)
def test_copiste_skips_missing_images_and_refuses_a_bad_table(tmp_path, capsys):
    release = tmp_path / "release"
    rows = [r for r in released_rows() if r["line_id"].startswith("imp_wikitexte_0022_0")][:4]
    for row in rows[:3]:  # the last one's image is left out
        (release / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(COPISTE / row["path"], release / row["path"])
    columns = list(rows[0])
    lines = ["\t".join(columns)] + ["\t".join(r[c] for c in columns) for r in rows]
    (release / "lines.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths = copiste.prepare(str(release), tmp_path / "out")
    assert [r["id"] for r in check_rows(paths["train"])] == [r["line_id"] for r in rows[1:3]]  # rows[0] is kind id
    assert capsys.readouterr().err.strip() == f"skipped: {rows[3]['line_id']}: {release / rows[3]['path']} is missing"
    (release / "lines.tsv").write_text("\n".join(lines[:2] + ["a\tb\tc"]) + "\n", encoding="utf-8")
    with pytest.raises(RecognizeError, match=r"lines.tsv:3: expected 8 tab-separated columns"):
        copiste.prepare(str(release), tmp_path / "out")


def repository_layout(folder: Path) -> Path:
    """The source repository's layout: ALTO in alto/, the page scans in jpg/."""
    (folder / "alto").mkdir(parents=True)
    (folder / "jpg").mkdir()
    for page in sorted((COPISTE / "pages").glob("*.xml")):
        shutil.copy(page, folder / "alto" / page.name)
        shutil.copy(page.with_suffix(".jpg"), folder / "jpg" / f"{page.stem}.jpg")
    return folder


@needs(COPISTE / "pages")
def test_copiste_page_layout_gives_the_released_lines(tmp_path):
    source = repository_layout(tmp_path / "repository")
    done = run_cli("prepare", "copiste", "--source", source, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "all: 83 rows" in done.stdout
    rows = check_rows(tmp_path / "out" / "all.jsonl")
    stems = {p.stem for p in (COPISTE / "pages").glob("*.xml")}
    released = [r for r in released_rows() if r["line_id"].rsplit("_", 1)[0] in stems and r["kind"] == "text"]
    assert [(r["id"], r["text"]) for r in rows] == [(r["line_id"], r["text"]) for r in released]
    for row in rows[::10]:
        image = tmp_path / "out" / row["image"]
        assert Image.open(image).size == (row["width"], row["height"])
        ink = load_image(image, 64)
        assert ink.shape[0] == 64 and 0.01 < ink.mean() < 0.5
    # the manifest reads as lines, not as pages (whose rows name their XML under "page")
    done = run_cli("evaluate", tmp_path / "out" / "all.jsonl", "--json", "--decoder", "greedy", "--threads", "1")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["n"], summary["failed"]) == (83, 0) and summary["cer"] < 0.25


@needs(COPISTE / "pages")
def test_from_pages_reports_unreadable_pages(tmp_path, capsys):
    pages = sorted((COPISTE / "pages").glob("*.xml"))[:2]
    (tmp_path / "lost.xml").write_text(pages[0].read_text(encoding="utf-8").replace(
        "imp_wikitexte_0022.jpg", "lost.jpg"), encoding="utf-8")
    rows = from_pages([*pages, tmp_path / "lost.xml"], tmp_path / "lines", tmp_path / "pages.jsonl")
    assert check_rows(tmp_path / "pages.jsonl") == rows and {r["source_page"] for r in rows} == {p.stem for p in pages}
    assert capsys.readouterr().err.strip() == f"skipped: {tmp_path / 'lost.xml'}: {tmp_path / 'lost.jpg'}: no such file"
    with pytest.raises(RecognizeError, match="no usable text lines"):
        from_pages([tmp_path / "lost.xml"], tmp_path / "lines", tmp_path / "none.jsonl")


def test_gt_folder(tmp_path, capsys):
    folder = tmp_path / "gt"
    shutil.copytree(LINES, folder / "copiste")
    shutil.copy(LINES / "wikitexte_0044_2_001.png", folder / "page.bin.png")  # OCRopus/Calamari naming
    (folder / "page.gt.txt").write_text("  2\n", encoding="utf-8")
    (folder / "lost.gt.txt").write_text("no image beside me\n", encoding="utf-8")
    Image.open(LINES / "wikitexte_0044_2_001.png").save(folder / "untranscribed.png")
    (folder / "blank.gt.txt").write_text("\n", encoding="utf-8")
    shutil.copy(LINES / "wikitexte_0044_2_001.png", folder / "blank.png")
    rows = from_gt_folder(folder, tmp_path / "manifests" / "gt.jsonl")
    assert check_rows(tmp_path / "manifests" / "gt.jsonl") == rows
    want = {f"copiste/{stem}": text for stem, text in TEXTS.items()} | {"page": "2"}
    assert {r["id"]: r["text"] for r in rows} == want
    assert next(r for r in rows if r["id"] == "page")["image"] == "../gt/page.bin.png"
    assert capsys.readouterr().err.splitlines() == [
        f"skipped: {folder / 'blank.gt.txt'}: empty transcription",
        f"skipped: {folder / 'lost.gt.txt'}: no image beside it (lost.png, lost.jpg, ...)",
    ]
    with pytest.raises(RecognizeError, match="no such folder"):
        from_gt_folder(tmp_path / "nowhere", tmp_path / "x.jsonl")


IAM_LINES = """\
#--- lines.txt ---------------------------------------------------------------#
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from
a01-000u-01 err 156 19 395 932 1850 105 nominating|any|more|Labour|life|Peers
a01-000u-02 ok 157 16 408 1106 1838 105 is|to|be|made|at|a|meeting|of|Labour
"""


def test_iam_lines(tmp_path, capsys):
    form = tmp_path / "iam" / "lines" / "a01" / "a01-000u"
    form.mkdir(parents=True)
    for number, stem in enumerate(list(TEXTS)[:2]):  # real line images under IAM's names; -02 is missing
        shutil.copy(LINES / f"{stem}.png", form / f"a01-000u-0{number}.png")
    (tmp_path / "iam" / "lines.txt").write_text(IAM_LINES, encoding="utf-8")
    for root in (tmp_path / "iam", tmp_path / "iam" / "lines"):  # the IAM folder or its lines/
        rows = from_iam_lines(tmp_path / "iam" / "lines.txt", root, tmp_path / "iam.jsonl")
        assert check_rows(tmp_path / "iam.jsonl") == rows
        assert rows == [
            {"id": "a01-000u-00", "image": "iam/lines/a01/a01-000u/a01-000u-00.png",
             "text": "A MOVE to stop Mr. Gaitskell from", "form": "a01-000u", "segmentation": "ok"},
            {"id": "a01-000u-01", "image": "iam/lines/a01/a01-000u/a01-000u-01.png",
             "text": "nominating any more Labour life Peers", "form": "a01-000u", "segmentation": "err"},
        ]
        assert capsys.readouterr().err.strip() == f"skipped: a01-000u-02: {form / 'a01-000u-02.png'} is missing"
    assert np.array_equal(load_image(tmp_path / rows[0]["image"], 64), load_image(LINES / f"{list(TEXTS)[0]}.png", 64))
    (tmp_path / "bad.txt").write_text("a01-000u-00 ok 154 A|MOVE\n", encoding="utf-8")
    with pytest.raises(RecognizeError, match=r"bad.txt:1: expected id"):
        from_iam_lines(tmp_path / "bad.txt", tmp_path / "iam", tmp_path / "bad.jsonl")
