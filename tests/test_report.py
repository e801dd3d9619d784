"""Evaluation reports (summary, utterances, confusions, breakdowns, HTML), text
normalization for scoring, `compare` and `plot`."""

import csv
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import LINES, run_cli

from recognize.inputs.text import Scoring


@pytest.fixture(scope="module")
def an4_report(an4_dev, tmp_path_factory) -> Path:
    """`recognize evaluate --report` of the bundled model on the 91 AN4 dev utterances."""
    folder = tmp_path_factory.mktemp("report") / "an4"
    done = run_cli("evaluate", an4_dev, "--report", folder, "--threads", "1")
    assert done.returncode == 0, done.stderr
    return folder


def test_report_files_and_their_fields(an4_report):
    summary = json.loads((an4_report / "summary.json").read_text())
    for key in ("n", "wer", "cer", "substitutions", "deletions", "insertions", "wall_seconds", "rtfx", "model",
                "decoder", "normalization", "manifest", "date", "version"):
        assert key in summary, key
    assert summary["normalization"] == "NFC, whitespace" and summary["model"].endswith("model.onnx")
    for rate in ("wer", "cer"):
        low, high = summary["ci95"][rate]
        assert low < summary[rate] < high and high - low < 0.2
    utterances = [json.loads(l) for l in (an4_report / "utterances.jsonl").read_text().splitlines()]
    assert len(utterances) == summary["n"] == 91
    assert [u["wer"] for u in utterances] == sorted((u["wer"] for u in utterances), reverse=True)
    for u in utterances:  # each alignment spells out the two texts and gives the counts
        words = u["alignment"]["words"]
        assert " ".join(r for op, r, _ in words if op != "I") == u["reference"]
        assert " ".join(h for op, _, h in words if op != "D") == u["hypothesis"]
        assert sum(op == "S" for op, _, _ in words) == u["words"]["substitutions"]
        assert "".join(h for op, _, h in u["alignment"]["chars"] if op != "D") == u["hypothesis"]
        assert 0 < u["confidence"] <= 1 and u["fields"]["speaker"]
    assert sum(u["words"]["insertions"] for u in utterances) == summary["insertions"]
    rows = list(csv.DictReader((an4_report / "utterances.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [u["id"] for u in utterances] and rows[0]["speaker"]


def test_confusions_count_what_the_alignments_hold(an4_report):
    utterances = [json.loads(l) for l in (an4_report / "utterances.jsonl").read_text().splitlines()]
    confusions = json.loads((an4_report / "confusions.json").read_text())
    subs = Counter((r, h) for u in utterances for op, r, h in u["alignment"]["words"] if op == "S")
    assert [tuple(x) for x in confusions["words"]["substitutions"]] == [(r, h, n) for (r, h), n in subs.most_common(20)]
    dels = Counter(r for u in utterances for op, r, _ in u["alignment"]["chars"] if op == "D")
    assert confusions["chars"]["deletions"][0] == list(dels.most_common(1)[0])


def test_breakdowns_by_speaker_gender_and_length_add_up(an4_report):
    summary = json.loads((an4_report / "summary.json").read_text())
    breakdowns = json.loads((an4_report / "breakdowns.json").read_text())
    assert set(breakdowns) == {"speaker", "gender", "length"}  # duration is a number, not a grouping field
    assert sorted(g["n"] for g in breakdowns["gender"]) == [26, 65]
    assert sum(g["words"] for g in breakdowns["gender"]) == summary["reference_words"]
    speakers = breakdowns["speaker"]
    assert len(speakers) == 7 and sum(g["n"] for g in speakers) == 91
    assert sum(g["words"] for g in speakers) == summary["reference_words"]
    errors = sum(round(g["wer"] * g["words"]) for g in speakers)
    assert errors == summary["substitutions"] + summary["deletions"] + summary["insertions"]
    assert [g["wer"] for g in speakers] == sorted((g["wer"] for g in speakers), reverse=True)
    assert sum(g["n"] for g in breakdowns["length"]) == 91


def test_the_html_shows_the_numbers_of_summary_json(an4_report):
    summary = json.loads((an4_report / "summary.json").read_text())
    html = (an4_report / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch
    shown = re.findall(r"data-key=([\w.]+)>(?:<b>)?([^<]+)<", html)
    assert len(shown) == 2 + 2 * 7  # the heading, then n, ref, sub, del, ins, rate, interval per unit

    def value(key):
        v = summary
        for part in key.split("."):
            v = v[part]
        return v

    for key, text in shown:
        v = value(key)
        if key.startswith("ci95"):
            expected = f"{100 * v[0]:.2f} % – {100 * v[1]:.2f} %"
        elif key in ("wer", "cer"):
            expected = f"{100 * v:.2f} %"
        else:
            expected = str(v)
        assert text == expected, key
    assert html.count("data:image/png;base64,") >= 2 + 5  # two breakdown plots, five spectrograms
    assert html.count('<div class=utt>') == 25


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM, reason="needs Debian's chromium (apt-get install chromium) to render the page")
def test_the_html_renders_in_headless_chromium(an4_report, tmp_path):
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    page = (an4_report / "report.html").as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert "Worst utterances" in dom.stdout and "Most frequent confusions" in dom.stdout
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2400", page],
                   capture_output=True, timeout=120)
    import numpy as np
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 2400) and len(np.unique(np.asarray(image.convert("L")))) > 50  # drawn, not blank


def test_trn_files_hold_what_was_scored_with_the_speaker_in_the_id(an4_report):
    utterances = {u["id"]: u for u in map(json.loads, (an4_report / "utterances.jsonl").open(encoding="utf-8"))}
    for name, key in (("ref.trn", "reference"), ("hyp.trn", "hypothesis")):
        lines = (an4_report / name).read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(utterances) == 91
        for line in lines:
            text, name_in_parens = re.fullmatch(r"(.*?) ?\((\S+)\)", line).groups()
            speaker, _, utt = name_in_parens.partition("-")  # an76-fjam-b is fjam's: (fjam-an76-fjam-b)
            assert text == utterances[utt][key] and speaker == utterances[utt]["fields"]["speaker"]


SCTK = shutil.which("sctk")


@pytest.mark.skipif(not SCTK, reason="needs NIST's sclite (Debian: apt-get install sctk) to check the figures")
def test_sclite_scores_the_trn_files_as_the_summary_says(an4_report):
    """An independent scorer: NIST sclite on ref.trn/hyp.trn agrees with our word counts."""
    done = subprocess.run([SCTK, "sclite", "-r", "ref.trn", "trn", "-h", "hyp.trn", "trn", "-i", "rm",
                           "-o", "sum", "stdout"], cwd=an4_report, capture_output=True, text=True, timeout=120)
    summary = json.loads((an4_report / "summary.json").read_text())
    total = re.search(r"Sum/Avg\s*\|\s*(\d+)\s+(\d+)\s*\|" + r"\s+([\d.]+)" * 6, done.stdout)
    assert total, done.stdout + done.stderr
    sentences, words, _, sub, dele, ins, err, _ = (float(x) for x in total.groups())  # Corr, ..., S.Err
    assert (sentences, words) == (summary["n"], summary["reference_words"])
    for percent, count in ((sub, "substitutions"), (dele, "deletions"), (ins, "insertions")):
        assert percent == round(100 * summary[count] / words, 1)
    assert err == round(100 * summary["wer"], 1)


def test_handwriting_report_places_the_characters_on_the_line(handwriting_model, line_manifest, tmp_path):
    done = run_cli("evaluate", line_manifest, "--model", handwriting_model, "--report", tmp_path)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count("<div class=line") == 3 and html.count("data:image/png;base64,") >= 3 + 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "lines_per_second" in summary and summary["n"] == 3


def test_scoring_normalization_options():
    text = "Ｌ’ÉTÉ,  c’est ﬁni !"
    assert Scoring()(text) == "Ｌ’ÉTÉ, c’est ﬁni !"
    assert Scoring("NFKC")(text) == "L’ÉTÉ, c’est fini !"
    assert Scoring("NFKC", lowercase=True, remove_punctuation=True)(text) == "lété cest fini"
    assert Scoring("NFC", True, True).describe() == "NFC, lowercase, no punctuation, whitespace"


def test_evaluate_records_the_normalization_it_scored_with(handwriting_model, line_manifest, tmp_path):
    plain = run_cli("evaluate", line_manifest, "--model", handwriting_model, "--json")
    folded = run_cli("evaluate", line_manifest, "--model", handwriting_model, "--json", "--lowercase",
                     "--remove-punctuation", "--unicode", "nfkc")
    plain, folded = json.loads(plain.stdout), json.loads(folded.stdout)
    assert plain["normalization"] == "NFC, whitespace"
    assert folded["normalization"] == "NFKC, lowercase, no punctuation, whitespace"
    references = sum(len(p.with_suffix(".gt.txt").read_text(encoding="utf-8").strip()) for p in LINES.glob("*.png"))
    assert plain["chars"]["reference_chars"] == references > folded["chars"]["reference_chars"]


def write_report(folder: Path, errors: list[int], hypotheses: list[str]):
    """A report of three 4-word utterances with the given word errors (all substitutions)."""
    folder.mkdir()
    utterances = [{"id": f"u{i}", "reference": "A B C D", "hypothesis": h,
                   "words": {"substitutions": e, "deletions": 0, "insertions": 0, "hits": 4 - e},
                   "chars": {"substitutions": e, "deletions": 0, "insertions": 0, "hits": 7 - e}}
                  for i, (e, h) in enumerate(zip(errors, hypotheses))]
    (folder / "utterances.jsonl").write_text("".join(json.dumps(u) + "\n" for u in utterances))
    (folder / "summary.json").write_text("{}")


def test_compare_gives_the_hand_checked_result(tmp_path):
    write_report(tmp_path / "a", [1, 0, 2], ["A B C X", "A B C D", "A B Y Z"])
    write_report(tmp_path / "b", [0, 0, 1], ["A B C D", "A B C D", "A B C Z"])
    done = run_cli("compare", tmp_path / "a", tmp_path / "b" / "summary.json", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    wer = result["wer"]
    assert wer["a"] == pytest.approx(3 / 12) and wer["b"] == pytest.approx(1 / 12)
    assert wer["delta"] == pytest.approx(-2 / 12)
    # B is never worse on any utterance, so a resample has delta >= 0 only when it draws
    # u1 (no errors in either) three times: p = 2 * (1/3)^3 = 2/27
    assert wer["p"] == pytest.approx(2 / 27, abs=0.012)
    assert wer["interval"][1] <= 0
    assert [c["id"] for c in result["better"]] == ["u0", "u2"] and result["worse"] == []
    table = run_cli("compare", tmp_path / "a", tmp_path / "b")
    assert "2 utterances better in B" in table.stdout and "WER    25.00%    8.33%  -16.67%" in table.stdout
    missing = run_cli("compare", tmp_path / "a", tmp_path / "nowhere")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr


def test_plot_draws_the_training_curves(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    records = [{"epoch": e, "train_loss": 100 / e, "wer": 1 / e, "cer": 0.5 / e} for e in range(1, 6)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    done = run_cli("plot", run)
    assert done.returncode == 0 and (run / "curves.png").stat().st_size > 10000, done.stderr
    empty = run_cli("plot", tmp_path)
    assert empty.returncode == 1 and "metrics.jsonl: cannot read" in empty.stderr
