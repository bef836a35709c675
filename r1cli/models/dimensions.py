"""A transformer's dimensions as its config states them: the one place r1 reads them.

Estimates of a model's cost (``training.shared_prompts``), activation memory
(``training.activations``) and weight/cache memory (``training.dry_run``) all start here.
Families name a few of these differently or leave them out; the fallbacks are the usual
transformer ones (``head_dim = hidden / heads``, as many key/value heads as query heads,
a 4x MLP).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dimensions:
    layers: int
    hidden: int
    heads: int
    head_dim: int
    kv_heads: int
    intermediate: int


def dimensions(config) -> Dimensions:
    """The dimensions of a transformers ``config`` (a text model's, or a text config)."""
    hidden = getattr(config, "hidden_size", None) or 0
    heads = getattr(config, "num_attention_heads", None) or 1
    return Dimensions(
        layers=getattr(config, "num_hidden_layers", None) or 0,
        hidden=hidden,
        heads=heads,
        head_dim=getattr(config, "head_dim", None) or hidden // heads,
        kv_heads=getattr(config, "num_key_value_heads", None) or heads,
        intermediate=getattr(config, "intermediate_size", None) or 4 * hidden,
    )
