"""Known transcripts placed on their files through a loaded model: the forward pass
here, the Viterbi path in :mod:`recognize.decoding.alignment`."""

from __future__ import annotations

from ..decoding.alignment import aligned_hypothesis
from ..errors import RecognizeError
from ..inputs.manifest import media_path
from .long_audio import LONG_SECONDS


def align_rows(recognizer, rows: list[dict], batch_size: int = 16, on_error=None):
    """Yield ``(row, Hypothesis, extent)`` for each manifest row whose file and text
    align; a row that does not goes to ``on_error(row, reason)`` (without it,
    :class:`RecognizeError` is raised). Files longer than
    :data:`~.long_audio.LONG_SECONDS` are refused (the trellis of an hour is
    too large; align its pieces)."""

    def fail(row, reason):
        if on_error is None:
            raise RecognizeError(f"{media_path(row)}: {reason}")
        on_error(row, reason)

    for start in range(0, len(rows), batch_size):
        read = []  # (row, features, extent, unit)
        for row in rows[start : start + batch_size]:
            if recognizer.is_long(media_path(row)):  # by the header: a long file is never loaded
                fail(row, f"longer than {LONG_SECONDS:.0f} s; alignment reads up to {LONG_SECONDS:.0f} s at a time")
                continue
            try:
                read.append((row, *recognizer.features(media_path(row))))
            except RecognizeError as e:
                fail(row, str(e).removeprefix(f"{media_path(row)}: "))
        for (row, _, extent, unit), log_probs in zip(read, recognizer.log_probs([r[1] for r in read], batch_size)):
            try:
                yield row, aligned_hypothesis(log_probs, row["text"], recognizer.alphabet, unit), extent
            except ValueError as e:
                fail(row, str(e))
