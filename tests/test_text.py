from recognize.inputs.text import BLANK, Alphabet, normalize_text


def test_blank_is_label_zero_and_roundtrip():
    alphabet = Alphabet.from_texts(["HELLO WORLD", "NO"])
    assert alphabet.symbols[0] == BLANK
    labels = alphabet.encode("HELLO  WORLD ")
    assert 0 not in labels
    assert alphabet.decode(labels) == "HELLO WORLD"


def test_unknown_characters_are_skipped_and_reported():
    alphabet = Alphabet.from_texts(["AB"])
    assert alphabet.decode(alphabet.encode("ABZ")) == "AB"
    assert alphabet.unknown("ABZÉ") == {"Z", "É"}


def test_nfc_normalization():
    decomposed = "e\u0301t\u00e9"  # e + combining acute, then precomposed é
    assert normalize_text(decomposed) == "\u00e9t\u00e9"
    alphabet = Alphabet.from_texts(["\u00e9"])
    assert alphabet.encode("e\u0301") == [1]
