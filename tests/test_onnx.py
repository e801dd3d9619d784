"""ONNX export and the onnxruntime recognizer: parity with torch, exact padded batches,
int8 accuracy, self-describing files, and a runtime that never imports torch."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from conftest import LINES, ROOT, SAMPLES, run_cli

from recognize.errors import ModelError
from recognize.runtime.loading import load_model
from recognize.runtime.onnx_export import export_onnx

BUNDLED_AN4 = ROOT / "recognize" / "models" / "an4"


@pytest.fixture(scope="module", params=["speech", "handwriting"])
def exported(request, tmp_path_factory):
    """(torch recognizer, fp32 onnx recognizer, real inputs) for the bundled speech and handwriting models."""
    kind = request.param
    checkpoint = ROOT / "recognize" / "models" / ("an4" if kind == "speech" else "copiste") / "model.pt"
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(checkpoint, path)
    torch_model = load_model(checkpoint, threads=1, decoder="greedy")
    files = sorted(SAMPLES.glob("*.wav")) if kind == "speech" else sorted(LINES.glob("*.png"))
    inputs = [torch_model.features(f)[0] for f in files]
    inputs += [inputs[0][:n] for n in (1, 7, 9, 40)]  # shorter than, at and past the frontends' minimum
    return torch_model, load_model(path, threads=1, decoder="greedy"), inputs


def padded(inputs):
    lengths = np.array([len(x) for x in inputs], dtype=np.int64)
    batch = np.zeros((len(inputs), max(lengths.max(), 8), inputs[0].shape[1]), np.float32)
    for i, x in enumerate(inputs):
        batch[i, : len(x)] = x
    return batch, lengths


@pytest.mark.parametrize("batch_size", [1, 2, 6])
def test_onnx_parity(exported, batch_size):
    """torch and onnxruntime agree to 1e-4 in log-probability and exactly in greedy output."""
    torch_model, onnx_model, inputs = exported
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        batch, lengths = padded(chunk)
        (a, a_lens), (b, b_lens) = torch_model.forward(batch, lengths), onnx_model.forward(batch, lengths)
        assert (a_lens == b_lens).all()
        for i, n in enumerate(a_lens):
            assert np.abs(a[i, :n] - b[i, :n]).max() <= 1e-4
        assert [h.text for h in torch_model.decode_features(chunk)] == [h.text for h in onnx_model.decode_features(chunk)]


def test_onnx_batch_consistency(exported):
    """Each item of a padded onnxruntime batch gets what it gets alone (backward LSTM direction included)."""
    _, onnx_model, inputs = exported
    batch, lengths = padded(inputs)
    together, out_lens = onnx_model.forward(batch, lengths)
    for i, x in enumerate(inputs):
        alone, alone_len = onnx_model.forward(*padded([x]))
        assert alone_len[0] == out_lens[i]
        assert np.abs(alone[0, : out_lens[i]] - together[i, : out_lens[i]]).max() <= 1e-5


def test_the_half_rate_conv_frontend_exports_exactly(tmp_path):
    """A conv frontend that halves the frame rate (model.subsample=2) exports, states its
    reduction and agrees with torch on a padded batch of real recordings."""
    import torch

    from recognize.config import load_config
    from recognize.inputs.text import Alphabet
    from recognize.model.checkpoint import save_checkpoint
    from recognize.model.ctc import CTCModel

    cfg = load_config(None, ["model.subsample=2", "model.cell=gru", "model.hidden=24", "model.layers=2",
                             "model.conv_channels=4"])
    torch.manual_seed(0)
    alphabet = Alphabet.from_texts(["YES NO"])
    model = CTCModel(cfg.model, cfg.features.n_mels, len(alphabet)).eval()
    save_checkpoint(tmp_path / "m.pt", model, cfg, alphabet)
    export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")
    meta = {p.key: p.value for p in onnx.load(tmp_path / "m.onnx").metadata_props}
    assert meta["frame_rate_reduction"] == "2"
    torch_model, onnx_model = load_model(tmp_path / "m.pt", threads=1, decoder="greedy"), load_model(tmp_path / "m.onnx", threads=1, decoder="greedy")
    inputs = [torch_model.features(f)[0] for f in sorted(SAMPLES.glob("*.wav"))]
    batch, lengths = padded(inputs + [inputs[0][:9]])
    (a, a_lens), (b, b_lens) = torch_model.forward(batch, lengths), onnx_model.forward(batch, lengths)
    assert a_lens.tolist() == b_lens.tolist() == [(((n - 3) // 2 + 1) - 3) + 1 for n in lengths]
    for i, n in enumerate(a_lens):
        assert np.abs(a[i, :n] - b[i, :n]).max() <= 1e-4


def test_export_writes_self_describing_metadata(handwriting_model, tmp_path):
    done = run_cli("export", handwriting_model, "-o", tmp_path / "hw.onnx", "--int8")
    assert done.returncode == 0 and not done.stderr, done.stderr
    graph = onnx.load(tmp_path / "hw.onnx")
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta["format"] == "recognize.onnx" and meta["version"] == "1" and meta["precision"] == "int8"
    assert meta["kind"] == "handwriting" and meta["input"] == "images" and meta["frame_rate_reduction"] == "4"
    assert json.loads(meta["alphabet"])[0] == "<blk>" and json.loads(meta["config"])["image"]["height"] == 64
    assert [i.name for i in graph.graph.input] == ["images", "lengths"]
    assert [o.name for o in graph.graph.output] == ["log_probs", "out_lens"]
    assert any(node.op_type == "DynamicQuantizeLSTM" for node in graph.graph.node)
    done = run_cli("read", *sorted(LINES.glob("*.png")), "--model", tmp_path / "hw.onnx")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 3, done.stderr


def test_onnx_files_without_our_metadata_are_refused(tmp_path):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    foreign = tmp_path / "foreign.onnx"
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)]), foreign)
    with pytest.raises(ModelError, match="without recognize metadata"):
        load_model(foreign, decoder="greedy")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07 this is not a protobuf" * 10)
    with pytest.raises(ModelError, match=r"not a readable ONNX model \(Protobuf parsing failed.\)"):
        load_model(garbage, decoder="greedy")
    done = run_cli("transcribe", SAMPLES / "cen8-mmtm-b.wav", "--model", foreign)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {foreign}: an ONNX model without recognize metadata (missing: format, " \
                                  "version, kind, input, alphabet, config); make one with `recognize export " \
                                  "CHECKPOINT -o MODEL.onnx`"


def test_int8_agrees_with_fp32_on_the_an4_dev_set(an4_dev, tmp_path):
    """The shipped int8 model against an fp32 export of the same checkpoint, on all 91 dev utterances."""
    from recognize.evaluation.evaluate import evaluate_manifest

    export_onnx(BUNDLED_AN4 / "model.pt", tmp_path / "fp32.onnx")
    fp32 = evaluate_manifest(load_model(tmp_path / "fp32.onnx", threads=1, decoder="greedy"), an4_dev)
    int8 = evaluate_manifest(load_model(BUNDLED_AN4 / "model.onnx", threads=1, decoder="greedy"), an4_dev)
    assert abs(fp32["summary"]["wer"] - int8["summary"]["wer"]) <= 0.003
    assert abs(fp32["summary"]["cer"] - int8["summary"]["cer"]) <= 0.003
    same = {u["id"]: u["hypothesis"] for u in fp32["utterances"]}
    agree = sum(same[u["id"]] == u["hypothesis"] for u in int8["utterances"])
    assert agree >= 0.95 * len(same), f"{agree} of {len(same)} transcripts identical"


NO_TORCH = """
import sys
class NoTorch:  # as if torch were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch())
from recognize.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    assert "torch" not in sys.modules
    sys.exit(e.code)
"""


def no_torch(*args):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_the_onnx_path_never_imports_torch(sample_manifest, handwriting_model, tmp_path):
    done = no_torch("transcribe", SAMPLES / "cen8-mmtm-b.wav")
    assert done.returncode == 0 and "TWENTY" in done.stdout, done.stderr
    done = no_torch("evaluate", sample_manifest, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["n"] == 2, done.stderr
    export_onnx(handwriting_model, tmp_path / "hw.onnx")
    done = no_torch("read", *sorted(LINES.glob("*.png")), "--model", tmp_path / "hw.onnx")
    assert done.returncode == 0, done.stderr
    done = no_torch("models", "--json")
    assert done.returncode == 0, done.stderr
    done = no_torch("transcribe", SAMPLES / "cen8-mmtm-b.wav", "--model", BUNDLED_AN4 / "model.pt")
    assert done.returncode == 1 and "checkpoints need PyTorch (pip install 'recognize[torch]')" in done.stderr
    done = no_torch("train", ROOT / "configs" / "yesno.yaml", "--out", tmp_path / "run")
    assert done.returncode == 1 and "needs torch: pip install 'recognize[torch]'" in done.stderr


def test_models_lists_the_bundled_models():
    done = run_cli("models", "--json")
    assert done.returncode == 0, done.stderr
    models = json.loads(done.stdout)
    an4 = next(m for m in models if m["name"] == "an4")
    assert an4["kind"] == "speech" and an4["default"]
    assert an4["onnx"] == str((BUNDLED_AN4 / "model.onnx").resolve())
    assert an4["checkpoint"] == str((BUNDLED_AN4 / "model.pt").resolve())
    assert {m["kind"] for m in models} <= {"speech", "handwriting"}


def test_int8_agrees_with_fp32_on_the_copiste_validation_set(copiste_val, tmp_path):
    """The shipped int8 handwriting model against an fp32 export of its checkpoint, all 638 lines, greedy."""
    from recognize.evaluation.evaluate import evaluate_manifest

    bundled = ROOT / "recognize" / "models" / "copiste"
    export_onnx(bundled / "model.pt", tmp_path / "fp32.onnx")
    fp32 = evaluate_manifest(load_model(tmp_path / "fp32.onnx", threads=1, decoder="greedy"), copiste_val)["summary"]
    int8 = evaluate_manifest(load_model(bundled / "model.onnx", threads=1, decoder="greedy"), copiste_val)["summary"]
    assert abs(fp32["cer"] - int8["cer"]) <= 0.003 and abs(fp32["wer"] - int8["wer"]) <= 0.003
