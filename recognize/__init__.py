"""recognize: speech and handwriting recognition with stacked BiLSTMs trained with CTC.

Public API::

    from . import load_model, transcribe
    model = load_model()                      # the bundled speech model
    for result in transcribe(["clip.wav"]):   # -> Hypothesis(text, tokens, words)
        print(result.text)
"""

__version__ = "0.1.0"

from .api import align, evaluate, load_model, read, segment, transcribe  # noqa: E402

__all__ = ["load_model", "transcribe", "read", "segment", "align", "evaluate", "__version__"]
