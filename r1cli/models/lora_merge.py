"""LoRA adapters folded into their base weights while a block of inference runs.

A LoRA linear layer computes ``W x + s * B (A (dropout(x)))``: two extra small matmuls, a
dropout and an add per layer and token. Generating on a CPU, where a decode step is a few
hundred small operations, that is a large share of the step (issue 18 measured 34 s against
29.5 s for the same generation). Inside ``merged_lora(model)`` every LoRA linear layer computes
``(W + s * B A) x`` instead, from a merged copy of its weight made on entry; the adapter and
the base weights are not touched (no merge/unmerge round trip that would drift the base weights
in the last bits over a run), and the layers are restored on exit.

It is the same function only when the adapter's dropout does nothing: p = 0, or the layer in
eval mode. GRPO generates in train mode (as TRL does), so with ``lora_dropout > 0`` sampling
goes through the dropout, and this leaves the model as it is. Anything else it does not know
to be a plain LoRA linear layer (DoRA and other variants, a bias on B, a quantized or
transposed base weight, several active adapters mixed per row) also leaves the model as it is.
The merged weights cost one copy of the adapted weights for the duration of the block, in one
buffer.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def merged_lora(model) -> Iterator[bool]:
    """Within the block, LoRA layers compute with merged weights; yields whether they do."""
    layers = _lora_linears(model)
    if not layers or not all(_mergeable(layer) for layer in layers):
        yield False
        return
    import torch

    patched = []
    try:
        with torch.no_grad():
            # One buffer for every merged weight: freed as one block on exit, so the memory goes back
            # whole (to the allocator or the kernel) instead of as hundreds of pieces the next step
            # cannot reuse for its larger tensors.
            by_dtype: dict = {}
            for layer in layers:
                weight = layer.base_layer.weight
                by_dtype.setdefault((weight.dtype, weight.device), []).append(layer)
            for (dtype, device), group in by_dtype.items():
                buffer = torch.empty(sum(layer.base_layer.weight.numel() for layer in group), dtype=dtype, device=device)
                offset = 0
                for layer in group:
                    weight = layer.base_layer.weight
                    merged = buffer[offset : offset + weight.numel()].view_as(weight)
                    offset += weight.numel()
                    merged.copy_(weight)
                    for adapter in _active(layer):
                        merged.add_(layer.get_delta_weight(adapter).to(dtype))
                    layer.forward = _MergedForward(merged, layer.base_layer.bias)  # shadows the class's forward
                    patched.append(layer)
        yield True
    finally:
        for layer in patched:
            del layer.forward


class _MergedForward:
    def __init__(self, weight, bias):
        self.weight, self.bias = weight, bias

    def __call__(self, x, *args, **kwargs):
        import torch.nn.functional as F

        return F.linear(x, self.weight, self.bias)


def _lora_linears(model) -> list:
    try:
        from peft.tuners.lora.layer import LoraLayer
    except ImportError:
        return []
    return [module for module in model.modules() if isinstance(module, LoraLayer)]


def _active(layer) -> list[str]:
    return [name for name in layer.active_adapters if name in layer.lora_A]


def _mergeable(layer) -> bool:
    import torch
    from peft.tuners.lora.layer import Linear

    if type(layer) is not Linear or layer.merged or layer.disable_adapters or getattr(layer, "fan_in_fan_out", False):
        return False
    if "forward" in vars(layer):  # someone else's forward on the instance (an accelerate hook...): leave it be
        return False
    base = layer.base_layer
    if type(base) is not torch.nn.Linear or not base.weight.dtype.is_floating_point:
        return False
    for adapter in _active(layer):
        dropout = layer.lora_dropout[adapter]
        if adapter in getattr(layer, "lora_variant", {}) or layer.lora_B[adapter].bias is not None:
            return False
        if dropout.training and not isinstance(dropout, torch.nn.Identity) and dropout.p > 0:
            return False
    return True
