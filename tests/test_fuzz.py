"""Property-based tests: random bytes, sample values, image sizes, manifest field types,
ARPA lines and output paths get a result or the project's own one-line errors, never a
crash with a traceback (hypothesis)."""

import numpy as np
from conftest import LINES, SAMPLES
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recognize.decoding.greedy import greedy_decode
from recognize.errors import RecognizeError
from recognize.inputs.audio import load_audio
from recognize.inputs.image import load_image
from recognize.inputs.manifest import read_manifest
from recognize.inputs.text import Alphabet

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WAV_HEADER = (SAMPLES / "cen7-fjam-b.wav").read_bytes()[:44]
PNG_START = sorted(LINES.glob("*.png"))[0].read_bytes()[:64]


def only_our_errors(call) -> None:
    try:
        call()
    except RecognizeError as e:
        assert "\n" not in str(e)


@FAST
@given(body=st.binary(max_size=2048), keep_header=st.booleans())
def test_random_audio_bytes(tmp_path, body, keep_header):
    path = tmp_path / "x.wav"
    path.write_bytes((WAV_HEADER if keep_header else b"") + body)
    only_our_errors(lambda: load_audio(path, 16000))


@FAST
@given(body=st.binary(max_size=2048), keep_header=st.booleans())
def test_random_image_bytes(tmp_path, body, keep_header):
    path = tmp_path / "x.png"
    path.write_bytes((PNG_START if keep_header else b"") + body)
    only_our_errors(lambda: load_image(path, 32))


@FAST
@given(text=st.text(max_size=300))
def test_random_manifest_text(tmp_path, text):
    path = tmp_path / "m.jsonl"
    path.write_text(text, encoding="utf-8")
    only_our_errors(lambda: read_manifest(path))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 4), t=st.integers(0, 30), v=st.integers(2, 8), seed=st.integers(0, 2**31 - 1))
def test_greedy_decoding_of_random_shapes(n, t, v, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, t, v)).astype(np.float32)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    lengths = rng.integers(0, t + 1, size=n)
    alphabet = Alphabet(["<blk>", " "] + [chr(65 + i) for i in range(v - 2)])
    for hyp, length in zip(greedy_decode(log_probs, lengths, alphabet, 0.04), lengths):
        assert len(hyp.tokens) <= length and hyp.text == hyp.text.strip()
        assert all(0 <= tok.start < tok.end <= length for tok in hyp.tokens)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(0, 25), v=st.integers(2, 8), seed=st.integers(0, 2**31 - 1),
       with_lm=st.booleans())
def test_beam_decoding_of_random_shapes(n, t, v, seed, with_lm):
    from recognize.decoding.beam import BeamOptions, BeamSearch
    from recognize.decoding.lm import NGramLM

    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, t, v)).astype(np.float32) * 3
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    lengths = rng.integers(0, t + 1, size=n)
    alphabet = Alphabet(["<blk>", " "] + [chr(65 + i) for i in range(v - 2)])
    lm = NGramLM.build(["A B", "B A A", "C"], 2) if with_lm else None
    decoder = BeamSearch(BeamOptions(beam_size=4, lm=lm, nbest=3))
    for hyp, length in zip(decoder(log_probs, lengths, alphabet, 0.04), lengths):
        assert hyp.text == " ".join(hyp.text.split()) and 1 <= len(hyp.alternatives) <= 3
        assert all(0 <= tok.start < tok.end <= length for tok in hyp.tokens)
        assert len(hyp.tokens) <= length and (length > 0 or hyp.text == "")


SAMPLE_TYPES = st.sampled_from([("PCM_16", np.int16), ("PCM_32", np.int32), ("FLOAT", np.float32), ("DOUBLE", np.float64)])


@FAST
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=400),
       kind=SAMPLE_TYPES, rate=st.sampled_from([8000, 16000, 44100]), scale=st.sampled_from([1.0, 1e6, 1e19]))
def test_any_sample_values_and_types_give_features_or_one_line(tmp_path, values, kind, rate, scale):
    """Whatever the samples (NaN, inf, huge, a handful), reading them gives finite features or our error."""
    import soundfile as sf

    from recognize.config import FeatureConfig
    from recognize.inputs.audio import finite_log_mel

    subtype, dtype = kind
    data = np.asarray(values, dtype=np.float64) * scale
    if np.issubdtype(dtype, np.integer):
        data = np.clip(np.nan_to_num(data), -1, 1)
    path = tmp_path / "x.wav"
    with np.errstate(over="ignore"):  # 1e19 does not fit a float32: it becomes inf, which is a case too
        sf.write(path, data.astype(np.float32 if dtype == np.int16 else dtype), rate, subtype=subtype)

    def read():
        features = finite_log_mel(load_audio(path, 16000), FeatureConfig(), path)
        assert np.isfinite(features).all()

    only_our_errors(read)


@FAST
@given(width=st.integers(1, 3000), height=st.integers(1, 300), mode=st.sampled_from(["1", "L", "RGB", "RGBA", "I;16"]))
def test_any_image_size_and_mode_is_a_line_or_one_line(tmp_path, width, height, mode):
    from PIL import Image

    from recognize.inputs.image import load_line

    path = tmp_path / "x.png"
    Image.new(mode, (width, height)).save(path)

    def read():
        ink, original = load_line(path, 32, max_width=2000)
        assert ink.shape[0] == 32 and ink.shape[1] <= 2000 and original == width

    only_our_errors(read)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=6)


@FAST
@given(row=st.dictionaries(st.sampled_from(["id", "audio", "image", "text", "alto", "duration", "offset", "x"]),
                           JSON_VALUES, max_size=6))
def test_any_field_types_in_a_manifest_row_are_typed_or_one_line(tmp_path, row):
    import json

    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")

    def read():
        (parsed,) = read_manifest(path)
        assert isinstance(parsed["id"], str) and parsed["id"]
        assert isinstance(parsed.get("text", ""), str)
        assert isinstance(parsed.get("audio") or parsed.get("image"), str)

    only_our_errors(read)


@FAST
@given(lines=st.lists(st.sampled_from(["\\data\\", "ngram 1=2", "ngram 1=x", "ngram 2=1", "\\1-grams:", "\\2-grams:",
                                       "-1.0\tA", "-0.5\tB\t-0.2", "nan\tC", "-1\tA B", "inf\tB A", "\\end\\",
                                       "garbage", ""]), max_size=14))
def test_any_arpa_lines_load_or_give_one_line(tmp_path, lines):
    from recognize.decoding.lm import NGramLM

    path = tmp_path / "x.arpa"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def load():
        lm = NGramLM.load(path)
        assert all(np.isfinite(p) for p in lm.probs.values())

    only_our_errors(load)


@FAST
@given(name=st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00/"), min_size=1,
                    max_size=20), parent=st.sampled_from(["", "sub/", "file/"]))
@example(name="\n", parent="file/")  # a line break in the name once made the error two lines
def test_any_output_path_is_written_whole_or_one_line(tmp_path, name, parent):
    from recognize.atomic import atomic_write_text

    (tmp_path / "file").write_text("a file, not a folder")
    path = tmp_path / parent / name

    def write():
        atomic_write_text(path, "done\n")
        assert path.read_text() == "done\n"

    only_our_errors(write)
    assert not [p for p in tmp_path.rglob(".*tmp*")]  # no temp file left behind
