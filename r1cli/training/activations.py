"""Activation checkpointing on a CPU: skipped for a micro-batch whose activations fit in memory.

TRL turns activation checkpointing on by default (``gradient_checkpointing: True`` in its configs):
each decoder layer keeps only its input in the forward pass and runs again in the backward pass to
get the rest. That trades compute for memory, the right trade on a GPU, where memory is what runs
out. On a CPU the trade runs the other way: memory is the machine's RAM and the compute is slow. At
the quickstart's settings (SmolLM2-135M, LoRA, 16 completions of 64 tokens, 2-core machine) the
loss's forward and backward took 1.33x as long with checkpointing as without, and 1.17x with
selective checkpointing that keeps the matrix products' outputs (``bench/bench_cpu_loss.py``, the
three alternating in one process; an earlier run 1.37x and 1.11x): on a CPU the recomputed attention
and element-wise work is not cheap. Not checkpointing costs about 1.3 GB there.

So when a recipe leaves ``activation_checkpointing`` (and its older name ``gradient_checkpointing``)
unset and the model trains on a CPU, r1's trainer keeps a micro-batch's activations, instead of
recomputing them, whenever :func:`estimate` of them fits in :data:`SHARE_OF_AVAILABLE` of the memory
available when training began (:func:`available_memory`: the machine's, or its container's if that is
less; read once, because glibc keeps freed memory in the process for reuse, see
``allocator.py``; split among the run's processes); a batch that does not fit is checkpointed as
TRL's default says. Only for a model the estimate covers (:func:`not_estimated`: a text-only model
of attention-only layers under ``sdpa``, no experts, no dropout); any other keeps checkpointing.
Either key set in the recipe, true or false, decides on its own. The results are the same either
way (checkpointing recomputes the same forward).

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


def checkpointing_unset(values: dict) -> bool:
    """Whether a recipe's ``values`` leave activation checkpointing to r1 (neither key set)."""
    return not any(values.get(key) is not None for key in RECIPE_KEYS)


def not_estimated(model) -> str | None:
    """Why :func:`estimate` does not bound ``model``'s activations (so r1 keeps checkpointing); None if it does.

    The estimate covers dense attention-only decoder layers under ``sdpa`` (which does not store the
    query-key scores) without dropout; a vision tower, experts, recurrent state, eager attention's
    per-pair scores and dropout masks are not in it.
    """
    import torch

    from r1cli.training.shared_prompts import not_attention_only

    config = getattr(model, "config", None)
    if config is None:
        return "no config"
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    if text is not config:
        return "a multimodal model (its vision tower is not estimated)"
    d = dimensions(config)
    if not (d.layers and d.hidden):
        return "the config states no layer count or hidden size"
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return f"{getattr(config, '_attn_implementation', None)} attention (only sdpa is estimated)"
    if any(getattr(config, name, None) for name in ("num_local_experts", "num_experts", "n_routed_experts")):
        return "a mixture of experts"
    reason = not_attention_only(model)
    if reason is not None:  # recurrent, convolutional or linear-attention state
        return reason
    if (getattr(config, "attention_dropout", 0) or 0) > 0 or any(
            isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()):
        return "dropout (its masks are not estimated)"
    return None


def estimate(config, positions: int) -> int:
    """Bytes the decoder layers of a model with ``config`` keep for the backward of ``positions`` positions
    (a model :func:`not_estimated` accepts)."""
    d = dimensions(config)
    values = 8 * d.hidden + 4 * d.intermediate + (2 * d.heads + 4 * d.kv_heads) * d.head_dim
    return positions * d.layers * values * BYTES_PER_VALUE


def available_memory() -> int | None:
    """Bytes this process can allocate without swapping or hitting its container's limit: the smaller of Linux's
    MemAvailable and the cgroup's headroom (limit less usage); None if unknown."""
    found = [m for m in (_meminfo_available(), _cgroup_headroom()) if m is not None]
    if not found:
        try:
            import psutil
        except ImportError:
            return None
        return int(psutil.virtual_memory().available)
    return min(found)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


CGROUP_FILES = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
                ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))  # v1


def _cgroup_headroom() -> int | None:
    for limit_file, usage_file in CGROUP_FILES:
        try:
            with open(limit_file, encoding="ascii") as f:
                limit = f.read().strip()
            with open(usage_file, encoding="ascii") as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 2**60:  # no limit (v1 writes a huge number)
            return None
        return max(0, int(limit) - usage)
    return None


def budget(processes_on_machine: int = 1) -> int:
    """Bytes a micro-batch's activations may take (0 when the available memory is unknown): the share of the
    memory available now, split among the training processes that may share this machine's memory."""
    available = available_memory()
    return int(available * SHARE_OF_AVAILABLE / max(1, processes_on_machine)) if available else 0


@contextlib.contextmanager
def checkpointing_off(model) -> Iterator[int]:
    """Within the block, no layer of ``model`` checkpoints its activations; yields how many modules were switched.

    Only modules that carry the flag themselves (transformers' checkpointing layers, and models that keep
    the older per-model flag), not wrappers that forward attribute lookups to what they wrap.
    """
    switched = [m for m in model.modules() if vars(m).get("gradient_checkpointing") is True]
    for module in switched:
        module.gradient_checkpointing = False
    try:
        yield len(switched)
    finally:
        for module in switched:
            module.gradient_checkpointing = True
