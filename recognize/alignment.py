"""Forced alignment: a known transcript placed on its recording (word times) or line
image (character x-positions) by the most likely CTC path that spells exactly it
(Viterbi over the CTC trellis, as NeMo's forced aligner and torchaudio's
``forced_align`` do). No torch: it runs on what the recognizer's forward pass gives.
"""

from __future__ import annotations

import numpy as np

from .decoding import Hypothesis, Token, words_from_tokens
from .errors import RecognizeError
from .text import normalize_text


def viterbi_path(log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The best CTC path that emits exactly ``labels``.

    log_probs: ``(T, V)`` of one item (blank = 0); labels: ``(L,)`` without blanks.
    Returns ``(T,)`` int: for each frame, the position in ``labels`` it emits, or -1
    for a blank. Raises :class:`ValueError` if ``labels`` cannot fit in T frames
    (CTC needs a frame per label plus a blank between repeated labels).
    """
    frames, n = len(log_probs), len(labels)
    states = np.zeros(2 * n + 1, dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    states[1::2] = labels
    skip = np.zeros(len(states), dtype=bool)  # a label may follow the previous label directly
    skip[3::2] = labels[1:] != labels[:-1]
    emit = log_probs[:, states]  # (T, S)
    score = np.full(len(states), -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((frames, len(states)), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, frames):
        one = np.r_[-np.inf, score[:-1]]
        two = np.where(skip, np.r_[-np.inf, -np.inf, score[:-2]], -np.inf)
        candidates = np.stack([score, one, two])
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + emit[t]
    last = len(states) - 1 if score[-1] >= score[-2] else len(states) - 2  # ends on the last label or blank
    if not np.isfinite(score[last]):
        raise ValueError(f"{n} characters do not fit in {frames} output frames")
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = last
        last -= int(back[t, last])
    return np.where(path % 2 == 1, path // 2, -1)


def aligned_hypothesis(log_probs: np.ndarray, text: str, alphabet, frame_unit: float) -> Hypothesis:
    """``text`` aligned to one item's ``(T, V)`` log-probs: a :class:`Hypothesis` whose
    tokens are its characters (first and one-past-last frame, highest posterior over
    them) and whose words carry start/end in ``frame_unit``. Raises
    :class:`ValueError` for characters outside ``alphabet`` or a text that cannot fit."""
    text = normalize_text(text)
    if not text:
        raise ValueError("empty transcript")
    unknown = alphabet.unknown(text)
    if unknown:
        raise ValueError(f"characters not in the model's alphabet: {' '.join(sorted(unknown))}")
    labels = np.array(alphabet.encode(text), dtype=np.int64)
    path = viterbi_path(log_probs, labels)
    tokens = []
    for i, label in enumerate(labels):
        frames = np.flatnonzero(path == i)
        tokens.append(Token(int(label), int(frames[0]), int(frames[-1]) + 1,
                            float(np.exp(log_probs[frames, label].max()))))
    return Hypothesis(text, tokens, words_from_tokens(tokens, alphabet, frame_unit), frame_unit)


def align_rows(recognizer, rows: list[dict], batch_size: int = 16, on_error=None):
    """Yield ``(row, Hypothesis, extent)`` for each manifest row whose file and text
    align; a row that does not goes to ``on_error(row, reason)`` (without it,
    :class:`RecognizeError` is raised). Files longer than
    :data:`~recognize.long_audio.LONG_SECONDS` are refused (the trellis of an hour is
    too large; align its pieces)."""
    from .long_audio import LONG_SECONDS
    from .manifest import media_path

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
        if not read:
            continue
        log_probs, out_lens = recognizer.forward(*recognizer.pad([r[1] for r in read]))
        for (row, _, extent, unit), lp, n in zip(read, log_probs, out_lens):
            try:
                yield row, aligned_hypothesis(lp[: int(n)], row["text"], recognizer.alphabet, unit), extent
            except ValueError as e:
                fail(row, str(e))


def align_command(manifest, model=None, fmt="json", output_dir=None, device="cpu", threads=0, batch_size=16) -> int:
    """Align every row of ``manifest`` (its ``text`` on its audio or line image) with
    ``model``; print the results (json: one line per row) or write ``output_dir/ID.FMT``
    (atomically). Rows that fail are reported on stderr and the rest go on.

    Returns the exit status: 0 if every row was aligned, 1 otherwise.
    """
    import sys
    from pathlib import Path

    from .api import load_model
    from .atomic import atomic_write_text
    from .evaluation import manifest_kind
    from .formats import render
    from .manifest import media_path, read_manifest
    from .transcription import report_failures

    rows = read_manifest(manifest)
    if not output_dir and fmt != "json" and len(rows) > 1:
        raise RecognizeError(f"--format {fmt} with several rows needs --output-dir (one file per row)")
    kind = manifest_kind(rows)
    recognizer = load_model(model, device=device, threads=threads, decoder="greedy", kind=kind)
    if kind == "handwriting" and fmt in ("srt", "vtt"):
        raise RecognizeError(f"--format {fmt} is for speech (times); line images align to json or tsv (x in pixels)")
    if rows and recognizer.kind != kind:
        raise RecognizeError(f"{manifest}: a manifest of {'line images' if kind == 'handwriting' else 'audio'}, "
                             f"but {recognizer.path} is a {recognizer.kind} model")
    alphabet = recognizer.alphabet if recognizer.kind == "handwriting" else None
    failures = []

    def on_error(row, reason):
        failures.append((f"{row['id']} ({media_path(row)})", reason))
        print(f"error: {row['id']} ({media_path(row)}): {reason}", file=sys.stderr)

    for row, hyp, extent in align_rows(recognizer, rows, batch_size, on_error):
        text = render(hyp, fmt, source=media_path(row), extent=round(extent, 3), alphabet=alphabet)
        if output_dir:
            atomic_write_text(Path(output_dir) / f"{row['id']}.{fmt}", text)
        else:
            sys.stdout.write(text)
    report_failures(failures, len(rows))
    return 1 if failures else 0
