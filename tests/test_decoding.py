import numpy as np

from recognize.decoding.greedy import greedy_decode, greedy_tokens
from recognize.inputs.text import Alphabet

ALPHABET = Alphabet(["<blk>", " ", "A", "B"])


def one_hot(path, vocab=4, p=0.9):
    """log-probs whose argmax follows ``path`` with probability ``p``."""
    lp = np.full((len(path), vocab), np.log((1 - p) / (vocab - 1)), dtype=np.float32)
    lp[np.arange(len(path)), path] = np.log(p)
    return lp


def test_repeats_merge_and_blanks_separate():
    # frames: A A _ A B B _ _ -> "AAB": the blank splits the two A runs, repeats merge
    tokens = greedy_tokens(one_hot([2, 2, 0, 2, 3, 3, 0, 0]))
    assert [t.label for t in tokens] == [2, 2, 3]
    assert [(t.start, t.end) for t in tokens] == [(0, 2), (3, 4), (4, 6)]


def test_all_blank_is_empty():
    assert greedy_tokens(one_hot([0, 0, 0])) == []


def test_batch_respects_lengths_and_word_times():
    # item 0: "A B" then padding frames that would say B if they were read
    lp = np.stack([one_hot([2, 0, 1, 3, 3, 3]), one_hot([3, 3, 0, 2, 2, 0])])
    hyps = greedy_decode(lp, [4, 6], ALPHABET, frame_unit=0.04)
    assert [h.text for h in hyps] == ["A B", "BA"]
    words = hyps[0].words
    assert [(w.word, w.start, w.end) for w in words] == [("A", 0.0, 0.04), ("B", 0.12, 0.16)]
    assert abs(words[0].confidence - 0.9) < 1e-5
