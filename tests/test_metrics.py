import pytest

from recognize.evaluation.metrics import corpus_errors, count_errors


def test_textbook_word_pair():
    # the cat sat on the mat -> the cat sit on mat: 1 substitution, 1 deletion
    c = count_errors("the cat sat on the mat", "the cat sit on mat", "word")
    assert (c.substitutions, c.deletions, c.insertions, c.hits) == (1, 1, 0, 4)
    assert c.rate == pytest.approx(2 / 6)


def test_textbook_char_pair():
    # kitten -> sitting: the classic Levenshtein distance 3 (2 substitutions, 1 insertion)
    c = count_errors("kitten", "sitting", "char")
    assert (c.substitutions, c.deletions, c.insertions) == (2, 0, 1)
    assert c.rate == pytest.approx(3 / 6)


def test_corpus_rate_is_total_edits_over_total_words():
    # 1 error in 1 word + 0 errors in 9 words: corpus WER 10 %, not the mean of 100 % and 0 %
    refs = ["yes", "a b c d e f g h i"]
    hyps = ["no", "a b c d e f g h i"]
    assert corpus_errors(refs, hyps)["wer"] == pytest.approx(0.1)


def test_empty_sides():
    assert count_errors("", "a b", "word").insertions == 2
    assert count_errors("a b", "", "word").deletions == 2
    assert count_errors("", "", "word").errors == 0
