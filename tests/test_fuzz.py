"""Property-based tests: random bytes and shapes get the project's own one-line errors,
never a crash with a traceback (hypothesis)."""

import numpy as np
from conftest import LINES, SAMPLES
from hypothesis import HealthCheck, given, settings
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
