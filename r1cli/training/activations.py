"""Activation checkpointing on a CPU: skipped for a micro-batch whose activations fit in memory.

TRL turns activation checkpointing on by default (``gradient_checkpointing: True`` in its configs):
each decoder layer keeps only its input in the forward pass and runs again in the backward pass to
get the rest. That trades compute for memory, the right trade on a GPU, where memory is what runs
out. On a CPU the trade runs the other way: memory is the machine's RAM and the compute is slow. At
the quickstart's settings (SmolLM2-135M, LoRA, 16 completions of 64 tokens, 2-core machine) the
loss's forward and backward took 1.37x as long with checkpointing as without, measured
side by side in one process, for about 1.3 GB less memory.

So when a recipe leaves ``activation_checkpointing`` (and its older name ``gradient_checkpointing``)
unset and the model trains on a CPU, r1's trainer keeps a micro-batch's activations, instead of
recomputing them, whenever :func:`estimate` of them fits in :data:`SHARE_OF_AVAILABLE` of the memory
the machine has available at that moment; a batch that does not fit is checkpointed as TRL's
default says. Either key set in the recipe, true or false, decides on its own. The results are the
same either way (checkpointing recomputes the same forward).

:func:`estimate` is an upper bound on what a pre-norm decoder layer saves for its backward, per
position, from the model's config: about 8 hidden-sized vectors (the residual stream, two norms
and their intermediates, the attention output), 4 MLP-sized ones (gate, up, the activation and
the product) and 2 query plus 4 key/value head groups (projections, rotary, the attention
kernel's), in 4-byte values; for SmolLM2-135M it says 50.7 KB per position and layer where 48.6 KB
were measured. It counts every position of the padded micro-batch (packed rows have fewer).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from r1cli.models.dimensions import dimensions

# The recipe keys that decide activation checkpointing (transformers' name and TRL's older alias).
RECIPE_KEYS = ("activation_checkpointing", "gradient_checkpointing")
# Activations may take at most this share of the memory available when the micro-batch starts.
SHARE_OF_AVAILABLE = 0.25
BYTES_PER_VALUE = 4


def left_to_r1(values: dict) -> bool:
    """Whether a recipe's ``values`` leave activation checkpointing to r1 (neither key set)."""
    return not any(values.get(key) is not None for key in RECIPE_KEYS)


def estimate(config, positions: int) -> int:
    """Bytes the decoder layers of a model with ``config`` keep for the backward of ``positions`` positions."""
    d = dimensions(config)
    values = 8 * d.hidden + 4 * d.intermediate + (2 * d.heads + 4 * d.kv_heads) * d.head_dim
    return positions * d.layers * values * BYTES_PER_VALUE


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation without swapping (Linux's MemAvailable); None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def budget() -> int:
    """Bytes a micro-batch's activations may take now (0 when the available memory is unknown)."""
    available = available_memory()
    return int(available * SHARE_OF_AVAILABLE) if available else 0


@contextlib.contextmanager
def kept(model) -> Iterator[int]:
    """Within the block, no layer of ``model`` checkpoints its activations; yields how many layers were switched."""
    switched = [m for m in model.modules() if getattr(m, "gradient_checkpointing", False) is True]
    for module in switched:
        module.gradient_checkpointing = False
    try:
        yield len(switched)
    finally:
        for module in switched:
            module.gradient_checkpointing = True
