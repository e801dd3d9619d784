"""The text the AN4 word LM learns from: the training transcripts, repeated, and common
English words spelled letter by letter.

    python recipes/an4/lm_text.py data/an4/train.jsonl -o runs/an4/lm_text.txt

Half of AN4's census utterances spell a name or a street ("M A S O N"). Their letters
are words to the LM, and the transcripts alone teach it the letter sequences of a few
hundred names only. Spelled English words teach it English spelling: with them a
4-gram knows which letter follows three others. The transcripts are repeated
(``--repeat``) so that the spelled words (4,885 lines against 857) don't outweigh them
on the commands and numbers. Measured in recipes/an4/README.md ("A word LM that can spell").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recognize.atomic import atomic_write_text
from recognize.errors import RecognizeError
from recognize.inputs.manifest import read_manifest

WORDS = Path(__file__).with_name("english_words.txt")


def spelled(word: str) -> str:
    """``"mason"`` -> ``"M A S O N"``: a word as AN4 transcribes it when spelled."""
    return " ".join(word.upper())


def lm_text(transcripts: list[str], words: list[str], repeat: int) -> str:
    """Each transcript ``repeat`` times, then each word spelled, one sentence per line."""
    return "".join(t + "\n" for t in transcripts * repeat) + "".join(spelled(w) + "\n" for w in words)


def read_words(path: Path) -> list[str]:
    """A word list: one word per line (its first field); ``#`` lines are comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", help="the training manifest (its text fields)")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--words", default=str(WORDS), help="word list to spell (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=10, help="copies of the transcripts (default: 10)")
    args = parser.parse_args()
    try:
        transcripts = [row["text"] for row in read_manifest(args.manifest)]
        words = read_words(Path(args.words))
    except OSError as e:
        sys.exit(f"error: {e.filename}: {e.strerror}")
    except RecognizeError as e:
        sys.exit(f"error: {e}")
    atomic_write_text(Path(args.output), lm_text(transcripts, words, args.repeat))
    print(f"{args.output}: {len(transcripts)} transcripts x {args.repeat}, {len(words)} spelled words")


if __name__ == "__main__":
    main()
