"""A training run's history: the epoch records of ``RUN/metrics.jsonl``, what "best" means, and
the run's saved ``RUN/config.yaml``.

Torch-free, so that plotting, averaging and the recipes' tables read runs the same way."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import RecognizeError
from ..kinds import kind_named


def headline(record: dict, kind: str) -> tuple[float, float]:
    """What "best" sorts by for a model of ``kind``: see :meth:`recognize.kinds.Kind.headline`."""
    return kind_named(kind).headline(record)


def read_history(run: str | Path, required: bool = True) -> list[dict]:
    """The epoch records of ``run/metrics.jsonl``, oldest first. With ``required`` a missing,
    unreadable or empty file is a one-line error; without, a missing file is no epochs."""
    path = Path(run) / "metrics.jsonl"
    if not required and not path.exists():
        return []
    try:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as e:
        raise RecognizeError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise RecognizeError(f"{path}: not JSON Lines ({e.msg})") from None
    if required and not records:
        raise RecognizeError(f"{path}: no epoch finished yet")
    return records


def run_config(run: str | Path, what: str = "config") -> dict:
    """The run's saved ``config.yaml`` as a dict; a one-line error (about the run's ``what``)
    if it is missing, unreadable or has no ``kind``."""
    import yaml

    path = Path(run) / "config.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        config = None
    if not isinstance(config, dict) or "kind" not in config:
        raise RecognizeError(f"{path}: cannot read the run's {what} (is {run} a training run folder?)")
    return config


def run_kind(run: str | Path) -> str:
    """``speech`` or ``handwriting``: the kind in the run's saved ``config.yaml``."""
    return run_config(run, "kind")["kind"]
