"""The recurrent cells: custom ones against a step-by-step reference, every one exact on
padded batches, in torch and through ONNX."""

import re

import numpy as np
import pytest
import torch

from recognize.config import CELLS, load_config
from recognize.errors import ConfigError
from recognize.inputs.text import Alphabet
from recognize.model.cells import GateLSTM, encode, encode_split, make_encoder, reverse_within
from recognize.model.checkpoint import save_checkpoint
from recognize.model.ctc import CTCModel


def reference_direction(x, w, r, b, p, kind):
    """One direction of one layer, one time step at a time, straight from the equations
    (Gers & Schmidhuber 2000 peepholes; Greff et al. 2017 CIFG): ``(T, I)`` -> ``(T, H)``."""
    hidden = r.shape[1]
    h, c, out = torch.zeros(hidden), torch.zeros(hidden), []
    for x_t in x:
        if kind == "cifg":
            wi, wo, wc = w.chunk(3)
            ri, ro, rc = r.chunk(3)
            bi, bo, bc = b.chunk(3)
            i = torch.sigmoid(wi @ x_t + ri @ h + bi)
            f = 1 - i
            o_pre = wo @ x_t + ro @ h + bo
        else:
            wi, wo, wf, wc = w.chunk(4)
            ri, ro, rf, rc = r.chunk(4)
            bi, bo, bf, bc = b.chunk(4)
            pi, po, pf = p.chunk(3)
            i = torch.sigmoid(wi @ x_t + ri @ h + bi + pi * c)
            f = torch.sigmoid(wf @ x_t + rf @ h + bf + pf * c)
        c = f * c + i * torch.tanh(wc @ x_t + rc @ h + bc)
        if kind == "cifg":
            o = torch.sigmoid(o_pre)
        else:
            o = torch.sigmoid(wo @ x_t + ro @ h + bo + po * c)
        h = o * torch.tanh(c)
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("kind", ["peephole", "cifg"])
def test_gate_lstm_matches_the_step_by_step_reference_on_a_padded_batch(kind):
    torch.manual_seed(0)
    lstm = GateLSTM(5, 4, num_layers=2, dropout=0.0, kind=kind).eval()
    with torch.no_grad():
        for p in lstm.parameters():
            p.add_(0.3 * torch.randn_like(p))  # peepholes and biases away from their initial values
    x, lengths = torch.randn(3, 9, 5), torch.tensor([9, 6, 1])
    with torch.no_grad():
        y = lstm(x, lengths)
    assert y.shape == (3, 9, 8)
    for n, length in enumerate(lengths.tolist()):
        seq = x[n, :length]
        for k in range(2):
            w, r, b = (getattr(lstm, f"{name}_{k}") for name in ("weight", "recurrent", "bias"))
            p = getattr(lstm, f"peephole_{k}", [None, None])
            forward = reference_direction(seq, w[0], r[0], b[0], p[0], kind)
            backward = reference_direction(seq.flip(0), w[1], r[1], b[1], p[1], kind).flip(0)
            seq = torch.cat([forward, backward], dim=-1)
        torch.testing.assert_close(y[n, :length], seq.detach(), atol=1e-6, rtol=1e-5)
        assert (y[n, length:] == 0).all()


def test_gate_lstm_learns_its_peepholes():
    torch.manual_seed(0)
    lstm = GateLSTM(3, 4, num_layers=1, dropout=0.0, kind="peephole")
    lstm(torch.randn(2, 6, 3), torch.tensor([6, 4])).pow(2).sum().backward()
    for name, p in lstm.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_reverse_within_leaves_padding_in_place():
    x = torch.arange(8.0).reshape(2, 4, 1)
    out = reverse_within(x, torch.tensor([4, 2]))
    assert out[:, :, 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]


ALPHABET = Alphabet.from_texts(["ABCDEFG"])


def model_with(cell: str):
    cfg = load_config(None, ["model.frontend=stack", f"model.cell={cell}", "model.hidden=24", "model.layers=2",
                             "features.n_mels=40"] + (["model.proj=12"] if cell == "lstmp" else []))
    torch.manual_seed(1)
    model = CTCModel(cfg.model, 40, len(ALPHABET)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model, cfg


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_is_exact_on_padded_batches_in_torch_and_onnxruntime(cell, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from recognize.runtime.onnx_export import export_onnx

    model, cfg = model_with(cell)
    x, lengths = torch.randn(3, 60, 40), torch.tensor([60, 37, 11])
    with torch.no_grad():
        log_probs, out_lens = model(x, lengths)
        for n in range(3):
            alone, _ = model(x[n : n + 1, : lengths[n]], lengths[n : n + 1])
            torch.testing.assert_close(alone[0], log_probs[n, : out_lens[n]], atol=1e-5, rtol=1e-5)

    save_checkpoint(tmp_path / "m.pt", model, cfg, ALPHABET)
    export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")
    import onnx

    ops = {node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    assert {"gru": "GRU", "rnn": "RNN"}.get(cell, "LSTM") in ops and "Loop" not in ops  # the fused operator
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got, got_lens = session.run(None, {"features": x.numpy(), "lengths": lengths.numpy()})
    assert got_lens.tolist() == out_lens.tolist()
    for n in range(3):
        np.testing.assert_allclose(got[n, : out_lens[n]], log_probs[n, : out_lens[n]].numpy(), atol=1e-4)


def test_cell_settings_are_checked():
    with pytest.raises(ConfigError, match="model.cell: must be one of"):
        load_config(None, ["model.cell=lstmx"])
    with pytest.raises(ConfigError, match="lstmp needs a projection"):
        load_config(None, ["model.cell=lstmp"])
    with pytest.raises(ConfigError, match="only lstm and lstmp cells have a projection"):
        load_config(None, ["model.cell=gru", "model.proj=64"])


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_exports_to_int8_weights_that_load_as_fp32(cell, tmp_path):
    """onnxruntime quantizes only the LSTM (peepholes too); the GRU and RNN weights are stored in
    int8 and folded back to fp32 when the runtime loads them: a small file, no per-call cost,
    outputs close to fp32."""
    ort = pytest.importorskip("onnxruntime")
    import onnx

    from recognize.runtime.onnx_backend import session_options
    from recognize.runtime.onnx_export import export_onnx

    model, cfg = model_with(cell)
    save_checkpoint(tmp_path / "m.pt", model, cfg, ALPHABET)
    export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx", int8=True)
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    floats = {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    recurrent = [n for n in graph.node if n.op_type in ("LSTM", "GRU", "RNN", "DynamicQuantizeLSTM")]
    assert len(recurrent) == 2  # one per layer, both directions in each
    assert not any(name in floats for node in recurrent for name in node.input[1:3])  # W and R

    options = session_options(threads=1)
    options.optimized_model_filepath = str(tmp_path / "loaded.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), options, providers=["CPUExecutionProvider"])
    assert "DequantizeLinear" not in {n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node}
    x, lengths = torch.randn(2, 60, 40), torch.tensor([60, 37])
    with torch.no_grad():
        log_probs, out_lens = model(x, lengths)
    got, _ = session.run(None, {"features": x.numpy(), "lengths": lengths.numpy()})
    # int8 rounding, measured with onnx 1.23 / onnxruntime 1.32: at most 0.051 for the gated
    # cells, 0.21 for the plain RNN, whose ungated recurrence carries every step's error on;
    # a wrong weight layout is off by more than 1
    tolerance = 0.25 if cell == "rnn" else 0.1
    for n in range(2):
        np.testing.assert_allclose(got[n, : out_lens[n]], log_probs[n, : out_lens[n]].numpy(), atol=tolerance)


def layer_of(name: str) -> int:
    """The encoder layer a parameter belongs to: ``weight_ih_l2_reverse`` (fused) or ``weight_2`` (GateLSTM)."""
    return int(re.search(r"(?:_l|_)(\d+)(?:_reverse)?$", name).group(1))


@pytest.mark.parametrize("cell", CELLS)
def test_the_split_encoder_reads_as_the_whole_and_as_its_lower_layers(cell):
    """Intermediate CTC runs the encoder in two parts: the top gives what the whole stack
    gives, the bottom what a stack of only those layers gives, on a padded batch."""
    torch.manual_seed(0)
    encoder = make_encoder(cell, 6, 5, 3, 0.3, 3 if cell == "lstmp" else 0).eval()
    lower = make_encoder(cell, 6, 5, 2, 0.3, 3 if cell == "lstmp" else 0).eval()
    lower.load_state_dict({k: v for k, v in encoder.state_dict().items() if layer_of(k) < 2})
    x, lengths = torch.randn(3, 9, 6), torch.tensor([9, 6, 1])
    with torch.no_grad():
        mid, out = encode_split(encoder, x, lengths, 2)
        torch.testing.assert_close(out, encode(encoder, x, lengths))
        torch.testing.assert_close(mid, encode(lower, x, lengths))
    assert mid[2, 1:].abs().sum() == 0  # zero past each length


@pytest.mark.parametrize("cell", ["gru", "peephole"])
def test_the_intermediate_output_trains_only_the_layers_below_it(cell):
    torch.manual_seed(0)
    encoder = make_encoder(cell, 6, 5, 3, 0.3, 0)
    mid, out = encode_split(encoder, torch.randn(2, 7, 6), torch.tensor([7, 4]), 1)
    mid.square().sum().backward()
    for name, p in encoder.named_parameters():
        reached = p.grad is not None and p.grad.abs().sum() > 0
        assert reached == (layer_of(name) < 1), name
