"""Models that ship inside the package. Each folder holds ``model.onnx`` (what runs by
default, on onnxruntime), ``model.pt`` (the checkpoint it was exported from, to
fine-tune) and ``MODEL_CARD.md``."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError

HERE = Path(__file__).parent
BUNDLED = {"an4": "speech", "copiste": "handwriting"}  # name -> kind; the first of each kind is its default
KINDS = ("speech", "handwriting")
ABOUT = {  # name -> (language, what it is for), as `recognize models` shows them
    "an4": ("English", "spelled letters, numbers, dates and a few commands (CMU AN4); close-talking microphone, telephone band, some noise"),
    "copiste": ("French", "handwritten lines and pages (Copiste d'un jour: Wikipedia summaries copied by hand)"),
}


def bundled(name: str, file: str = "model.onnx") -> Path:
    """Path of a bundled model's ``model.onnx`` (or ``model.pt``)."""
    path = HERE / name / file
    if not path.exists():
        raise ModelError(f"bundled model '{name}' is missing from this installation ({path})")
    return path


def default_model(kind: str = "speech") -> Path:
    """The bundled ONNX model used for ``kind`` when no ``--model`` is given."""
    for name, its_kind in BUNDLED.items():
        if its_kind == kind:
            return bundled(name)
    raise ModelError(f"no {kind} model is bundled: pass --model MODEL")


def bundled_models() -> list[dict]:
    """``[{"name", "kind", "default", "language", "use", "onnx", "checkpoint", "card"}]``, absolute paths."""
    defaults = {kind: next((n for n, k in BUNDLED.items() if k == kind), None) for kind in KINDS}
    return [
        {"name": name, "kind": kind, "default": defaults[kind] == name, "language": ABOUT[name][0],
         "use": ABOUT[name][1], "onnx": str(bundled(name).resolve()),
         "checkpoint": str(bundled(name, "model.pt").resolve()), "card": str((HERE / name / "MODEL_CARD.md").resolve())}
        for name, kind in BUNDLED.items()
    ]


def describe(model: dict) -> dict:
    """A bundled model's ``bundled_models()`` entry with what its ONNX file and card say:
    ``input`` (sample rate, or line height and what is done to a line first), ``symbols``
    (alphabet size, blank included), ``megabytes`` (its files on disk) and ``accuracy``
    (the card's headline figure)."""
    import json
    import re

    import onnxruntime as ort

    meta = ort.InferenceSession(model["onnx"], providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    config = json.loads(meta["config"])
    image = config["image"]
    steps = "".join(f"{step}, " for step, on in (("contrast stretched", image.get("stretch")),
                                                 ("levelled", image.get("level"))) if on)
    inputs = (f"{config['features']['sample_rate']} Hz audio" if config["kind"] == "speech"
              else f"lines {steps}scaled to {image['height']} px")
    card = Path(model["card"]).read_text(encoding="utf-8")
    found = re.search(r"\*\*((?:dev|val) WER [\d.]+ %, CER [\d.]+ %)\*\*", card)
    size = sum(f.stat().st_size for f in Path(model["onnx"]).parent.iterdir() if f.is_file())
    return {**model, "input": inputs, "symbols": len(json.loads(meta["alphabet"])),
            "megabytes": round(size / 1e6, 1), "accuracy": found.group(1) if found else None}
