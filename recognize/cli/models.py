"""``recognize models``, ``release`` and ``export``: the bundled models, and turning a
checkpoint into what ships."""

from __future__ import annotations

import json
from pathlib import Path


def add_models(sub) -> None:
    p = sub.add_parser("models", help="list the bundled models: what each reads, its size and accuracy",
                       description="Each bundled model by name (what --model NAME takes), the kind of input it "
                                   "reads, its language and domain, input, alphabet, size on disk and the headline "
                                   "accuracy of its card (on dev data carved from its corpus).")
    p.add_argument("--json", action="store_true", help="a JSON list of {name, kind, default, language, use, input, "
                                                       "symbols, megabytes, accuracy, onnx, checkpoint, card}")
    p.set_defaults(func=run_models)


def run_models(args) -> int:
    from ..models import bundled_models, describe

    models = [describe(m) for m in bundled_models()]
    if args.json:
        print(json.dumps(models, indent=2, ensure_ascii=False))
        return 0
    for m in models:
        default = f", the default for `recognize {'transcribe' if m['kind'] == 'speech' else 'read'}`" \
            if m["default"] else ""
        print(f"{m['name']}: {m['kind']}, {m['language']}{default}\n"
              f"  for:      {m['use']}\n"
              f"  input:    {m['input']}; {m['symbols']} symbols; {m['megabytes']} MB\n"
              f"  accuracy: {m['accuracy']} with its default decoding (see MODEL_CARD.md)\n"
              f"  folder:   {Path(m['onnx']).parent} (model.onnx runs; model.pt to fine-tune)")
    return 0


def add_release(sub) -> None:
    p = sub.add_parser("release", help="strip a checkpoint for shipping: no training state, float16 weights")
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", required=True, metavar="OUT.pt", help="the released checkpoint to write")
    p.add_argument("--level-from", metavar="MANIFEST",
                   help="speech: measure the median speech level of these recordings (the training manifest) and "
                        "have the model scale every recording to it before its features, so that quiet and loud "
                        "recordings read as well as ones at the training level (features.level_db)")
    p.add_argument("--stretch-contrast", action="store_true",
                   help="handwriting: have the model stretch each line's contrast first (background to 0, ink to 1), "
                        "so that grey paper, faint ink and dim photos read like clean scans (image.stretch)")
    p.add_argument("--level-lines", action="store_true",
                   help="handwriting: have the model turn each line image level first, along a baseline fitted "
                        "under its ink, as the page reader does with the lines it cuts (image.level)")
    p.set_defaults(func=run_release)


def run_release(args) -> int:
    from ..errors import RecognizeError
    from ..model.checkpoint import load_checkpoint, release_checkpoint

    options = {"--level-from": ("speech", args.level_from), "--stretch-contrast": ("handwriting", args.stretch_contrast),
               "--level-lines": ("handwriting", args.level_lines)}
    given = [(option, kind) for option, (kind, value) in options.items() if value]
    if given:
        cfg = load_checkpoint(args.checkpoint)[1]
        for option, needs in given:
            if cfg.kind != needs:
                raise RecognizeError(f"{args.checkpoint}: {option} is for {needs} models; this one is a {cfg.kind} model")
    inputs = {}
    if args.level_from:
        from ..inputs.audio import median_speech_level
        from ..inputs.manifest import read_manifest

        paths = [row["audio"] for row in read_manifest(args.level_from, need_text=False)]
        level = round(median_speech_level(paths, cfg.features), 1)
        print(f"speech level of {args.level_from}: {level} dB (median); the model scales recordings to it")
        inputs["features"] = {"level_db": level}
    image = {name: True for name, on in (("stretch", args.stretch_contrast), ("level", args.level_lines)) if on}
    if image:
        inputs["image"] = image
    release_checkpoint(args.checkpoint, args.output, inputs)
    print(f"wrote {args.output}")
    return 0


def add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX for onnxruntime (needs torch and onnx)",
                       description="Inputs: features (N, T, F) or images (N, 1, H, W), and lengths (N,); outputs: "
                                   "log_probs (N, T', V) and out_lens (N,). Exact on padded batches; the model's "
                                   "alphabet and settings ride in its metadata.")
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx")
    p.add_argument("--int8", action="store_true",
                   help="quantize the LSTM and linear weights to int8 (smaller, faster on CPU; see docs/speed.md)")
    p.set_defaults(func=run_export)


def run_export(args) -> int:
    from ..runtime.onnx_export import export_onnx

    meta = export_onnx(args.checkpoint, args.output, int8=args.int8)
    print(f"wrote {args.output} ({meta['kind']}, {meta['precision']}, input '{meta['input']}')")
    return 0
