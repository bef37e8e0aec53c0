"""Linear layers with int8 weights and int8 activations quantised per row, on fbgemm's CPU kernels.

Why per row: PyTorch's dynamic int8 quantisation (`quantize_dynamic`) scales the activations of a
whole batch by one factor, so a row's output changes with whatever else shares its batch (a
sampled SAG choice would then depend on its neighbours). Here each row is divided by its own
absolute maximum before fbgemm quantises it with a fixed scale, and the product is multiplied
back by it: a row's result depends on that row only (tested), at the speed of the int8 kernel.

Projections that read the same input (q/k/v of an attention layer, gate/up of an MLP) share one
int8 matrix product: the first of them computes all of them and the others take their columns,
so each input is quantised once and fbgemm runs one larger product instead of three small ones.
"""

from __future__ import annotations

import warnings

import torch

# int8 activations: fbgemm's quint8 with zero point 128 holds a row scaled into [-127, 127]
_ZERO_POINT = 128
_QMAX = 127.0


def _packed_int8(weight: torch.Tensor) -> torch.Tensor:
    """fbgemm's packed form of `weight` quantised symmetrically, one scale per output channel."""
    weight = weight.detach().float()
    scales = (weight.abs().amax(dim=1) / _QMAX).clamp_min(1e-12).double()
    zeros = torch.zeros(weight.shape[0], dtype=torch.long)
    with warnings.catch_warnings():  # PyTorch marks its quantised tensor types for a future removal (pinned here)
        warnings.simplefilter("ignore")
        qweight = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
    # no bias inside: fbgemm would add it before the row scale is multiplied back
    return torch.ops.quantized.linear_prepack(qweight, None)


def _int8_product(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x @ W.T (+ bias) with x quantised to int8 with one scale per row."""
    shape = x.shape
    rows = x.reshape(-1, shape[-1]).float()
    scale = rows.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / _QMAX
    out = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(rows / scale, 1.0, _ZERO_POINT, packed)
    out = out.mul_(scale) if bias is None else torch.addcmul(bias, out, scale)
    return out.reshape(*shape[:-1], out.shape[-1])


class _SharedProduct:
    """One int8 product for several projections of the same input; each takes its columns."""

    def __init__(self, linears: list[torch.nn.Linear]):
        weight = torch.cat([lin.weight for lin in linears])
        biases = [lin.bias for lin in linears]
        bias = None if all(b is None for b in biases) else torch.cat([b if b is not None else lin.weight.new_zeros(lin.out_features) for b, lin in zip(biases, linears)])
        self.packed = _packed_int8(weight)
        self.bias = None if bias is None else bias.detach().float()
        self.users = len(linears)
        self._input: torch.Tensor | None = None
        self._output: torch.Tensor | None = None
        self._taken = 0

    def columns(self, x: torch.Tensor, start: int, end: int) -> torch.Tensor:
        # the same tensor object as the last call's: its product is still being handed out
        if x is not self._input or self._output is None:
            self._input, self._output, self._taken = x, _int8_product(x, self.packed, self.bias), 0
        out = self._output[..., start:end]
        self._taken += 1
        if self._taken == self.users:  # everyone served: hold no activations between steps
            self._input = self._output = None
        return out


class Int8Linear(torch.nn.Module):
    """A linear layer (or its columns of a shared product) with per-row int8 activations."""

    def __init__(self, linear: torch.nn.Linear, shared: _SharedProduct | None = None, start: int = 0):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.shared, self.start = shared, start
        self.packed = None if shared is not None else _packed_int8(linear.weight)
        self.bias = None if shared is not None or linear.bias is None else linear.bias.detach().float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shared is not None:
            return self.shared.columns(x, self.start, self.start + self.out_features)
        return _int8_product(x, self.packed, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-row activations" + (", shared product" if self.shared else "")


# Projections that read the same input in the architectures the engine runs (llama, qwen2/3, mistral)
_SIBLINGS = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))


def quantize_int8(model: torch.nn.Module, skip: str = "lora_") -> torch.nn.Module:
    """Replace every float linear layer of `model` (lm_head included) by an `Int8Linear`, in place;
    layers whose name contains `skip` (an unmerged LoRA adapter's A/B) stay float. Sibling
    projections (`_SIBLINGS`) share one product."""
    for parent_name, parent in list(model.named_modules()):
        children = dict(parent.named_children())
        done: set[str] = set()
        for group in _SIBLINGS:
            linears = [children.get(n) for n in group]
            if all(type(lin) is torch.nn.Linear for lin in linears) and skip not in parent_name:
                shared = _SharedProduct(linears)  # pyright: ignore[reportArgumentType]
                start = 0
                for name, lin in zip(group, linears):
                    setattr(parent, name, Int8Linear(lin, shared, start))  # pyright: ignore[reportArgumentType]
                    start += lin.out_features  # pyright: ignore[reportOptionalMemberAccess]
                done.update(group)
        for name, child in children.items():
            full = f"{parent_name}.{name}" if parent_name else name
            if name not in done and type(child) is torch.nn.Linear and skip not in full:
                setattr(parent, name, Int8Linear(child))
    return model
