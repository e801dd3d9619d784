"""The encoder's recurrent cell, as the literature varies it (``model.cell``).

``lstm``      torch's fused LSTM (cuDNN / oneDNN), the default; ``lstmp`` is the same
              with a projection of the output (``model.proj``, Sak et al. 2014)
``gru``       torch's fused GRU (Cho et al. 2014); ONNX GRU with ``linear_before_reset=1``
``rnn``       torch's fused plain tanh RNN (Elman), the cell the LSTM replaced
``peephole``  LSTM whose gates also see the cell state (Gers & Schmidhuber 2000)
``cifg``      LSTM with coupled input and forget gates, f = 1 - i (Greff et al. 2017)

The fused cells run on packed sequences. ``peephole`` and ``cifg`` have no fused kernel
in torch: :class:`GateLSTM` computes every time step's input projection in one matrix
product and loops over time only for the recurrence, both directions in one batched
product, with a mask so that padding never reaches a valid output. Its weights are kept
in ONNX's layout (gates ``i, o, f, c``; peepholes ``i, o, f``) and it exports as ONNX's own
LSTM operator (``P`` peephole input, ``input_forget`` attribute), which onnxruntime runs
fused with ``sequence_lens``.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each item of ``(N, T, F)`` along time within its own length (padding stays put)."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    index = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # (N, T)
    return x.gather(1, index[:, :, None].expand_as(x))


class GateLSTM(nn.Module):
    """Stacked bidirectional LSTM with peepholes or coupled input-forget gates.

    ``(N, T, input_size)`` + lengths ``(N,)`` -> ``(N, T, 2 * hidden_size)``, zero past each length.
    Parameters per layer (``k`` = layer index), as ONNX's LSTM takes them:
    ``weight_k (2, G*H, I)``, ``recurrent_k (2, G*H, H)``, ``bias_k (2, G*H)``, and for
    peepholes ``peephole_k (2, 3H)``; index 0 of the first axis is the forward direction.
    The G = 4 gates are ``i, o, f, c``; cifg has no forget-gate weights (G = 3: ``i, o, c``).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float, kind: str):
        super().__init__()
        if kind not in ("peephole", "cifg"):
            raise ValueError(f"GateLSTM: kind must be peephole or cifg, not {kind}")
        self.hidden_size, self.num_layers, self.kind = hidden_size, num_layers, kind
        self.dropout = nn.Dropout(dropout)
        h, self.gates = hidden_size, 3 if kind == "cifg" else 4
        for k in range(num_layers):
            size = input_size if k == 0 else 2 * h
            self.register_parameter(f"weight_{k}", nn.Parameter(torch.empty(2, self.gates * h, size)))
            self.register_parameter(f"recurrent_{k}", nn.Parameter(torch.empty(2, self.gates * h, h)))
            self.register_parameter(f"bias_{k}", nn.Parameter(torch.zeros(2, self.gates * h)))
            if kind == "peephole":
                self.register_parameter(f"peephole_{k}", nn.Parameter(torch.zeros(2, 3 * h)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier input weights, orthogonal recurrent weights per gate, forget gates open
        (bias 1; for cifg, whose forget gate is 1 - i, an input-gate bias of -1)."""
        h = self.hidden_size
        for k in range(self.num_layers):
            w, r, b = getattr(self, f"weight_{k}"), getattr(self, f"recurrent_{k}"), getattr(self, f"bias_{k}")
            for d in range(2):
                for gate in range(self.gates):
                    nn.init.xavier_uniform_(w.data[d, gate * h : (gate + 1) * h])
                    nn.init.orthogonal_(r.data[d, gate * h : (gate + 1) * h])
            b.data.zero_()
            if self.kind == "cifg":
                b.data[:, 0:h] = -1.0  # i, so that f = 1 - i starts near 0.73
            else:
                b.data[:, 2 * h : 3 * h] = 1.0  # f

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, layers: range | None = None) -> torch.Tensor:
        """``layers``: run only these (all by default; :func:`encode_split` runs the stack in two parts)."""
        for k in layers or range(self.num_layers):
            if k:
                x = self.dropout(x)
            w, r, b = getattr(self, f"weight_{k}"), getattr(self, f"recurrent_{k}"), getattr(self, f"bias_{k}")
            p = getattr(self, f"peephole_{k}", None)
            if torch.onnx.is_in_onnx_export():
                if self.kind == "cifg":  # ONNX wants forget-gate rows even when input_forget ignores them
                    w, r, b = (self.with_forget_rows(v) for v in (w, r, b))
                x = OnnxLSTM.apply(x, lengths, w, r, b, p, self.kind == "cifg")
            else:
                x = self.layer(x, lengths, w, r, b, p)
        return x

    def with_forget_rows(self, v: torch.Tensor) -> torch.Tensor:
        """``i, o, c`` gate rows -> ``i, o, f, c`` with zeros for f (along axis 1)."""
        i, o, c = v.chunk(3, dim=1)
        return torch.cat([i, o, torch.zeros_like(i), c], dim=1)

    def layer(self, x, lengths, w, r, b, p) -> torch.Tensor:
        """One bidirectional layer: ``(N, T, I)`` -> ``(N, T, 2H)``."""
        n, t_max, _ = x.shape
        h_size = self.hidden_size
        both = torch.stack([x, reverse_within(x, lengths)])  # (2, N, T, I): forward, backward
        gates_x = torch.einsum("dnti,dgi->dntg", both, w) + b[:, None, None, :]  # (2, N, T, G*H)
        valid = (torch.arange(t_max, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)  # (N, T)
        h = x.new_zeros(2, n, h_size)
        c = x.new_zeros(2, n, h_size)
        outputs = []
        for t in range(t_max):
            g = gates_x[:, :, t] + torch.bmm(h, r.transpose(1, 2))  # (2, N, G*H)
            if self.kind == "cifg":
                i, o, z = g.chunk(3, dim=-1)
                i = torch.sigmoid(i)
                f = 1 - i
            else:
                i, o, f, z = g.chunk(4, dim=-1)
                pi, po, pf = p[:, None, :h_size], p[:, None, h_size : 2 * h_size], p[:, None, 2 * h_size :]
                i, f = torch.sigmoid(i + pi * c), torch.sigmoid(f + pf * c)
            c_new = f * c + i * torch.tanh(z)
            if self.kind == "peephole":
                o = o + po * c_new  # the output gate sees the new cell state
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            m = valid[None, :, t, None]  # (1, N, 1)
            c = m * c_new + (1 - m) * c
            h = m * h_new + (1 - m) * h
            outputs.append(h_new * m)
        y = torch.stack(outputs, dim=2)  # (2, N, T, H)
        return torch.cat([y[0], reverse_within(y[1], lengths)], dim=-1)


class OnnxLSTM(torch.autograd.Function):
    """Exports a :class:`GateLSTM` layer as one ONNX ``LSTM`` node (used only while exporting)."""

    @staticmethod
    def forward(ctx, x, lengths, w, r, b, p, coupled):  # the shapes the tracer records
        return x.new_zeros(x.shape[0], x.shape[1], 2 * r.shape[-1])

    @staticmethod
    def symbolic(g, x, lengths, w, r, b, p, coupled):
        hidden = r.type().sizes()[-1]
        seq = g.op("Transpose", x, perm_i=[1, 0, 2])  # (T, N, I)
        seq_lens = g.op("Cast", lengths, to_i=6)  # int32
        bias = g.op("Concat", b, g.op("Mul", b, g.op("Constant", value_t=torch.tensor(0.0))), axis_i=1)  # Wb, Rb
        inputs = [seq, w, r, bias, seq_lens]
        if p is not None:  # peepholes come after the initial states, which must then be given
            zeros = _zero_state(g, x, hidden)
            inputs += [zeros, zeros, p]
        y = g.op("LSTM", *inputs, hidden_size_i=hidden, direction_s="bidirectional",
                 input_forget_i=int(coupled), outputs=3)[0]  # (T, 2, N, H)
        y = g.op("Transpose", y, perm_i=[2, 0, 1, 3])  # (N, T, 2, H)
        return g.op("Reshape", y, g.op("Constant", value_t=torch.tensor([0, 0, -1])))


def _zero_state(g, x, hidden: int):
    """ONNX ops for zeros of shape (2, N, hidden), N taken from ``x`` (N, T, I)."""
    n = g.op("Slice", g.op("Shape", x), g.op("Constant", value_t=torch.tensor([0])),
             g.op("Constant", value_t=torch.tensor([1])))
    shape = g.op("Concat", g.op("Constant", value_t=torch.tensor([2])), n,
                 g.op("Constant", value_t=torch.tensor([hidden])), axis_i=0)
    return g.op("ConstantOfShape", shape, value_t=torch.tensor([0.0]))


def encode(encoder: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Run any encoder of :func:`make_encoder`: ``(N, T, I)`` + lengths -> ``(N, T', D)``
    with ``T' = max(lengths)``, zero past each length."""
    if not isinstance(encoder, nn.RNNBase):
        return encoder(x, lengths)
    if isinstance(encoder, nn.LSTM) and encoder.proj_size and torch.onnx.is_in_onnx_export():
        return lstmp_as_onnx_lstm(encoder, x, lengths)
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    y, _ = encoder(packed)
    return pad_packed_sequence(y, batch_first=True)[0]


def encode_split(encoder: nn.Module, x: torch.Tensor, lengths: torch.Tensor, at: int):
    """:func:`encode`, also returning what the first ``at`` layers output (for intermediate
    CTC): ``(N, T, I)`` + lengths -> ``(N, T', D)`` after layer ``at`` and after the last,
    zero past each length. The same weights and the same dropout between layers as
    :func:`encode`; the fused cells run as two fused stacks over the encoder's own parameters."""
    if not isinstance(encoder, nn.RNNBase):
        mid = encoder(x, lengths, range(at))
        return mid, encoder(mid, lengths, range(at, encoder.num_layers))
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    mid, _ = functional_call(*_sub_stack(encoder, 0, at), (packed,))
    between = mid._replace(data=nn.functional.dropout(mid.data, encoder.dropout, encoder.training))
    out, _ = functional_call(*_sub_stack(encoder, at, encoder.num_layers), (between,))
    return pad_packed_sequence(mid, batch_first=True)[0], pad_packed_sequence(out, batch_first=True)[0]


def _sub_stack(rnn: nn.RNNBase, first: int, last: int) -> tuple[nn.RNNBase, dict]:
    """Layers ``first`` to ``last - 1`` of a fused stack: a weightless module of their shape
    (on the meta device) and ``rnn``'s own parameters under that module's names, for
    ``functional_call`` (so gradients reach ``rnn``)."""
    options = dict(num_layers=last - first, bidirectional=True, batch_first=True,
                   dropout=rnn.dropout if last - first > 1 else 0.0, device="meta")
    if rnn.mode == "LSTM":
        options["proj_size"] = rnn.proj_size
    elif rnn.mode.startswith("RNN"):
        options["nonlinearity"] = rnn.nonlinearity
    inputs = rnn.input_size if first == 0 else 2 * (rnn.proj_size or rnn.hidden_size)  # both directions
    shape = type(rnn)(inputs, rnn.hidden_size, **options).train(rnn.training)
    params = {}
    for name, p in rnn.named_parameters():
        stem, layer, direction = re.fullmatch(r"(\w+_l)(\d+)(_reverse)?", name).groups()
        if first <= int(layer) < last:
            params[f"{stem}{int(layer) - first}{direction or ''}"] = p
    return shape, params


def lstmp_as_onnx_lstm(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """An LSTM with projections, exactly, as ONNX LSTM nodes (which have no projection).

    LSTMP feeds back ``h = W_hr m`` with ``m = o * tanh(c)``; its recurrent term
    ``R h = (R W_hr) m`` is that of a plain LSTM over ``m`` with recurrent weights
    ``R W_hr``. So each layer is an ONNX LSTM over ``m`` followed by the projection.
    """
    def onnx_gates(v):  # torch's gate order i, f, g, o -> ONNX's i, o, f, c
        i, f, g, o = v.chunk(4, dim=0)
        return torch.cat([i, o, f, g], dim=0)

    hidden = lstm.hidden_size
    for k in range(lstm.num_layers):
        names = [f"l{k}", f"l{k}_reverse"]
        p = {n: {w: getattr(lstm, f"{w}_{n}") for w in ("weight_ih", "weight_hh", "weight_hr", "bias_ih", "bias_hh")}
             for n in names}
        w = torch.stack([onnx_gates(p[n]["weight_ih"]) for n in names])
        r = torch.stack([onnx_gates(p[n]["weight_hh"] @ p[n]["weight_hr"]) for n in names])
        b = torch.stack([onnx_gates(p[n]["bias_ih"] + p[n]["bias_hh"]) for n in names])
        m = OnnxLSTM.apply(x, lengths, w, r, b, None, False)  # (N, T, 2H), unprojected
        x = torch.cat([m[..., :hidden] @ p[names[0]]["weight_hr"].T, m[..., hidden:] @ p[names[1]]["weight_hr"].T], -1)
    return x


def init_recurrent(rnn: nn.RNNBase) -> None:
    """Literature defaults for torch's fused cells: orthogonal recurrent weights per gate
    (Saxe et al. 2014), Xavier input weights, zero biases, and for the LSTM a forget-gate
    bias of 1 (Jozefowicz et al. 2015)."""
    gates = {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)
    h = rnn.hidden_size
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            for gate in p.data.chunk(gates, 0):
                nn.init.orthogonal_(gate)
        elif name.startswith("weight_ih"):
            for gate in p.data.chunk(gates, 0):
                nn.init.xavier_uniform_(gate)
        elif name.startswith("bias"):
            nn.init.zeros_(p)
            if rnn.mode == "LSTM" and name.startswith("bias_ih"):
                p.data[h : 2 * h] = 1.0  # torch's gate order is input, forget, cell, output


def make_encoder(cell: str, input_size: int, hidden: int, layers: int, dropout: float, proj: int) -> nn.Module:
    """The stacked bidirectional encoder for ``cell`` (see the module docstring)."""
    between = dropout if layers > 1 else 0.0
    if cell in ("peephole", "cifg"):
        return GateLSTM(input_size, hidden, layers, dropout, cell)
    if cell in ("lstm", "lstmp"):
        rnn = nn.LSTM(input_size, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                      dropout=between, proj_size=proj)
    elif cell == "gru":
        rnn = nn.GRU(input_size, hidden, num_layers=layers, bidirectional=True, batch_first=True, dropout=between)
    else:
        rnn = nn.RNN(input_size, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                     dropout=between, nonlinearity="tanh")
    init_recurrent(rnn)
    return rnn


def output_size(cell: str, hidden: int, proj: int) -> int:
    """Features per frame out of the encoder (both directions)."""
    return 2 * (proj if cell in ("lstm", "lstmp") and proj else hidden)
