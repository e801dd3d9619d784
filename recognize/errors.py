"""The project's own errors: each message is one line that names the file or key and the problem.

The CLI prints ``error: <message>`` for these and exits non-zero; anything else is a bug
and keeps its traceback.
"""


class RecognizeError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""

    def __str__(self) -> str:  # one line, whatever a file name in it holds
        return super().__str__().replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(RecognizeError):
    """A config file or ``--set`` override names an unknown key, a wrong type or an impossible value."""


class AudioError(RecognizeError):
    """An audio file is missing, unreadable or unusable."""


class ImageError(RecognizeError):
    """An image file is missing, unreadable or unusable."""


class ManifestError(RecognizeError):
    """A manifest line is malformed or names a missing file."""


class ModelError(RecognizeError):
    """A model file is missing, unsafe or not a recognize checkpoint."""


class RecognizeWarning(UserWarning):
    """Something a user should know about an input that is still used (a truncated
    recording); the command line shows it as one line, ``warning: FILE: ...``."""
