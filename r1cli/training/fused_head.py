"""Score only the completion tokens in TRL's fused LM head on a CPU too.

GRPO's loss needs the log-probability of each completion token. TRL computes it
with a fused LM head (``trl.trainer.utils.add_fused_lm_head``): the model's
backbone runs on the whole sequence (prompt + completion), then the hidden states
go through the vocabulary projection in tiles, never materialising the logits. Its
documented contract is to project "only the positions whose next-token label is
not -100", which TRL keeps on Triton devices (CUDA, XPU). Everywhere else it
projects every position (prompt, padding and completion) and masks afterwards,
because on a device that compiles tile shapes (Neuron) a number of positions
that changes with every batch would recompile. Eagerly run, a CPU compiles nothing, and there
the extra positions were a large part of the loss's cost: at the quickstart's settings
(54-token prompts, 64-token completions, a 49,152-token vocabulary) the head
projected 1,888 positions where 886 were scored, and it and its backward (which
recomputes every tile) took about 6 s of a 22 s forward/backward, and 1.4 GB of
peak memory went to the tiles.

:func:`compact_on_cpu` makes TRL's fused head take its own compact path on a CPU:
the valid positions are gathered before the projection and scattered back after,
through the same kernel (its torch tiles on a CPU), so each scored position gets
the same computation on fewer rows (equal up to float rounding: the products run
over fewer rows). Which device compacts is the one fact patched
(``trl.trainer.utils._use_triton`` answers the head's question "gather first?");
the kernel's own choice of Triton or torch tiles reads its module's copy and is
untouched. Where TRL no longer asks that question, nothing changes. Under
``torch_compile`` the caller passes ``enabled=False``: there a CPU does compile, and a
data-dependent number of rows is what TRL avoids. Nested blocks are no-ops; blocks
on two threads at once could end compaction early for the other (speed, not results).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator


@contextlib.contextmanager
def compact_on_cpu(enabled: bool = True) -> Iterator[None]:
    """Within the block, TRL's fused LM head projects only the scored positions on a CPU as well."""
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:  # no TRL, no fused head to compact
        yield
        return
    asks = getattr(trl_utils, "_use_triton", None)
    if not enabled or asks is None or getattr(asks, "compacts_on_cpu", False):
        yield  # nothing to patch, or an enclosing block already did
        return
    compact = _compacting(asks)
    trl_utils._use_triton = compact
    try:
        yield
    finally:
        if trl_utils._use_triton is compact:
            trl_utils._use_triton = asks


@functools.cache
def _compacting(asks: Callable) -> Callable:
    """TRL's answer, and yes on a CPU; one function per original (a stable identity for every block)."""

    def compact(device) -> bool:
        return device.type == "cpu" or asks(device)

    compact.compacts_on_cpu = True
    return compact
