"""The report's pictures (matplotlib, drawn off-screen), each returned as PNG bytes."""

from __future__ import annotations

import io

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: draw to memory
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return out.getvalue()


def group_bars(groups: list[dict], title: str) -> bytes:
    """Horizontal bars of WER and CER (%) per group (``[{"group", "n", "wer", "cer"}]``), in the given order."""
    plt = _pyplot()
    groups = groups[:40]
    y = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.28 * len(groups)))
    ax.barh(y - 0.2, [100 * g["wer"] for g in groups], height=0.4, label="WER", color="#d95f02")
    ax.barh(y + 0.2, [100 * g["cer"] for g in groups], height=0.4, label="CER", color="#1b9e77")
    ax.set_yticks(y, [f"{g['group']} ({g['n']})" for g in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("error rate (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: never over a bar
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def spectrogram(features: np.ndarray, frame_seconds: float, words: list, title: str) -> bytes:
    """A log-mel spectrogram ``(T, F)`` with each recognized word's start and end marked."""
    plt = _pyplot()
    seconds = len(features) * frame_seconds
    fig, ax = plt.subplots(figsize=(min(14, 2 + 2.2 * seconds), 2.4))
    ax.imshow(features.T, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, features.shape[1]))
    for w in words:
        ax.axvspan(w.start, w.end, color="white", alpha=0.12)
        ax.axvline(w.start, color="cyan", lw=0.8)
        ax.text((w.start + w.end) / 2, features.shape[1] * 0.9, w.word, color="white", ha="center", fontsize=8,
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0})
    ax.set_xlabel("seconds")
    ax.set_ylabel("mel band")
    ax.set_title(title, fontsize=9)
    return _png(fig)


def training_curves(records: list[dict], title: str) -> bytes:
    """Training loss and dev WER/CER per epoch, from ``metrics.jsonl`` records."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in records]
    fig, (loss, errors) = plt.subplots(1, 2, figsize=(10, 3.4))
    loss.plot(epochs, [r["train_loss"] for r in records], marker="o", ms=3)
    loss.set_xlabel("epoch")
    loss.set_ylabel("training loss (CTC, per utterance)")
    loss.grid(alpha=0.3)
    errors.plot(epochs, [100 * r["wer"] for r in records], marker="o", ms=3, label="dev WER", color="#d95f02")
    errors.plot(epochs, [100 * r["cer"] for r in records], marker="o", ms=3, label="dev CER", color="#1b9e77")
    errors.set_xlabel("epoch")
    errors.set_ylabel("error rate (%)")
    errors.grid(alpha=0.3)
    errors.legend()
    fig.suptitle(title, fontsize=10)
    return _png(fig)
